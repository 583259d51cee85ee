"""Load authoring files into configuration objects, with errors that name file and path.

A file is validated in one pass: every problem pydantic finds in it is reported (each as
``file: path.in.file: message``), not only the first, so a file with three bad rules
needs one correction round, not three.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dq_core.config.base import Versioned
from dq_core.config.objects import CONFIG_OBJECT_ADAPTER
from dq_core.errors import LoadError
from dq_core.loading.readers import read_json, read_yaml
from dq_core.loading.xlsx import read_xlsx

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")
MAX_CONFIG_BYTES = 10 * 1024 * 1024


def format_loc(loc: Iterable[int | str], data: Any) -> str:
    """Turn a pydantic error location into ``rules[3].params.pattern``.

    Discriminated unions add the tag (``regex``) to the location; it is not a key
    of the document, so it is dropped by walking the input alongside the location.
    """
    path = ""
    current = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            current = current[part] if isinstance(current, list) and part < len(current) else None
            continue
        if isinstance(current, Mapping) and part not in current and part in (current.get("type"), current.get("kind")):
            continue
        if part.startswith(("function-", "tagged-union[")):
            continue
        if current is not None and not isinstance(current, Mapping):
            continue  # a member of a union (``float``, ``str``): not a key of a mapping
        path += f".{part}" if path else part
        current = current.get(part) if isinstance(current, Mapping) else None
    return path


def _origin(path: str, origins: Mapping[str, str]) -> str:
    best = ""
    for prefix in origins:
        if (path == prefix or path.startswith((prefix + ".", prefix + "["))) and len(prefix) > len(best):
            best = prefix
    return f" ({origins[best]})" if best else ""


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "union_tag_invalid":
        ctx = error.get("ctx", {})
        expected = ", ".join(re.findall(r"'(\w+)'", str(ctx.get("expected_tags", ""))))
        discriminator = str(ctx.get("discriminator", "type")).strip("'")
        return f"unknown {discriminator} {ctx.get('tag')!r} (expected one of {expected})"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return message


def _consequential(error: Mapping[str, Any]) -> bool:
    """A list that is "too short" only because its items failed: their errors say it already."""
    if error["type"] != "too_short":
        return False
    given = error.get("input")
    minimum = error.get("ctx", {}).get("min_length", 0)
    return isinstance(given, Sequence) and not isinstance(given, str) and len(given) >= minimum


def _joined(messages: list[str]) -> str:
    """The messages of one place, once each; a union's "Input should be ..." alternatives as one."""
    unique = list(dict.fromkeys(messages))
    prefix = "Input should be "
    if len(unique) > 1 and all(message.startswith(prefix) for message in unique):
        return prefix + " or ".join(message.removeprefix(prefix) for message in unique)
    return "; ".join(unique)


def _places(exc: ValidationError, data: Any, origins: Mapping[str, str]) -> list[tuple[str, str]]:
    """(path in the file, message) of every problem, one per place, in the order pydantic found them."""
    by_path: dict[str, list[str]] = {}
    for error in exc.errors():
        if _consequential(error):
            continue
        path = format_loc(error["loc"], data)
        by_path.setdefault(path + _origin(path, origins), []).append(_message(error))
    return [(path, _joined(messages)) for path, messages in by_path.items()]


def validation_problems(exc: ValidationError, data: Any, location: str, origins: Mapping[str, str]) -> list[LoadError]:
    """Every problem of one file, each a LoadError naming the file and the path inside it."""
    return [LoadError(location, path, message) for path, message in _places(exc, data, origins)]


class FileProblems(LoadError):
    """Every problem of one file. It reads as the first (callers that show one line are
    unchanged); ``problems`` holds them all, for ``dq libraries check``."""

    def __init__(self, location: str, places: Sequence[tuple[str, str]]) -> None:
        path, message = places[0]
        super().__init__(location, path, message)
        self.problems = tuple(LoadError(location, where, text) for where, text in places)


def parse_object(data: Any, location: str, origins: Mapping[str, str] | None = None) -> Versioned:
    """Validate plain data as a configuration object; raise FileProblems with every problem."""
    if not isinstance(data, Mapping):
        raise LoadError(location, "", f"expected a mapping at the top, found {type(data).__name__}")
    if "kind" not in data:
        raise LoadError(location, "kind", "missing: every configuration file says which kind of object it holds")
    try:
        return CONFIG_OBJECT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise FileProblems(location, _places(exc, data, origins or {})) from None


def read_document(path: Path, location: str | None = None) -> tuple[Any, dict[str, str]]:
    """Plain data of one authoring file, and (for XLSX) where each list item came from."""
    location = location or str(path)
    suffix = path.suffix.lower()
    if suffix not in CONFIG_SUFFIXES:
        raise LoadError(location, "", f"unsupported file type {suffix!r} (use .yaml, .json or .xlsx)")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise LoadError(location, "", f"file is {size} bytes, over the {MAX_CONFIG_BYTES} byte limit")
        content = path.read_bytes()
    except OSError as exc:
        raise LoadError(location, "", f"cannot read file: {exc.strerror}") from None
    if suffix == ".xlsx":
        return read_xlsx(content, location)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(location, "", "file is not UTF-8 text") from None
    reader = read_json if suffix == ".json" else read_yaml
    return reader(text, location), {}


def load_file(path: Path, location: str | None = None) -> Versioned:
    data, origins = read_document(path, location)
    return parse_object(data, location or str(path), origins)


@dataclass(frozen=True)
class LoadedObject:
    obj: Versioned
    source: str  # where it was authored (a path), for error messages


@dataclass
class LoadReport:
    objects: list[LoadedObject] = field(default_factory=list)
    problems: list[LoadError] = field(default_factory=list)


def config_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in CONFIG_SUFFIXES and not path.name.startswith((".", "~$"))
    )


def load_directory(root: Path, relative_to: Path | None = None) -> LoadReport:
    """Load every authoring file under ``root``; collect problems instead of stopping."""
    report = LoadReport()
    for path in config_files(root):
        location = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
        try:
            report.objects.append(LoadedObject(load_file(path, location), location))
        except FileProblems as exc:
            report.problems.extend(exc.problems)
        except LoadError as exc:
            report.problems.append(exc)
    return report
