"""What a model field means, in words: its ``Field(description=...)``, else the comment
written after it in the model's source (``window: int = 20  # runs of history considered``).

Both are read so that the reference and the editor schemas carry the explanations the
models already have, wherever the model's author wrote them.
"""

from __future__ import annotations

import ast
import inspect
import io
import textwrap
import tokenize
from functools import cache

from pydantic import BaseModel

_NOT_PROSE = ("noqa", "type:", "pragma", "pylint")


@cache
def _comments(owner: type[BaseModel]) -> dict[str, str]:
    """Field name -> the trailing comment(s) on the lines of its definition in ``owner``'s body."""
    try:
        source = textwrap.dedent(inspect.getsource(owner))
    except (OSError, TypeError):  # no source (a frozen build): descriptions only
        return {}
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if text and not text.startswith(_NOT_PROSE):
                comments[token.start[0]] = text
    found: dict[str, str] = {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return {}
    for node in body.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            end = node.end_lineno or node.lineno
            lines = [comments[line] for line in range(node.lineno, end + 1) if line in comments]
            if lines:
                found[node.target.id] = " ".join(lines)
    return found


def _owner(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The class of ``model``'s MRO whose body defines the field."""
    for cls in model.__mro__:
        if isinstance(cls, type) and issubclass(cls, BaseModel) and name in inspect.get_annotations(cls):
            return cls
    return model


def field_description(model: type[BaseModel], name: str) -> str:
    """The field's description, or the comment after it in the model's source, or ''."""
    info = model.model_fields[name]
    if info.description:
        return info.description
    return _sentence(_comments(_owner(model, name)).get(name, ""))


def _sentence(comment: str) -> str:
    """A comment as a sentence: a capital (unless it starts with a name such as ``most_recent``) and a stop."""
    if not comment:
        return ""
    first = comment.split(" ", 1)[0]
    if first.rstrip(":,;").isalpha() and first.islower() and first != "strftime":
        comment = comment[0].upper() + comment[1:]
    return comment if comment.endswith((".", ")")) else comment + "."


def model_description(model: type[BaseModel]) -> str:
    """The model's own docstring (never one inherited from a base class), cleaned."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else ""
