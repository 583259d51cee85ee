"""Error text that repeats no data.

Engine and reader errors quote what they tripped over: polars says ``failed for 1 out of 2
values: ["abc"]``, a table read from a file names its content as columns (``valid
columns: ["root:x:0:0…"]``). Such text reaches result.json, the report and the API, which
readers of every role see. :func:`safe_error` keeps the first line, drops everything after
``valid columns``, and replaces each quoted fragment by ``…`` unless the caller allows it
(the authored text, the dataset's column names) or it names a type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|`[^`]*`|\[[^\]]*\]")
_DTYPE = re.compile(
    r"^(str|bool|null|binary|date|time|cat|[iuf](8|16|32|64|128)|(datetime|duration|decimal|list)\b.*)$"
)
_MAX = 160


def safe_error(exc: BaseException, *, allowed: Iterable[str] = ()) -> str:
    """One line naming the error; quoted fragments survive only when ``allowed`` holds them."""
    keep = set(allowed)
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    first = (lines[0] if lines else "").split("; valid columns", 1)[0]
    text = _QUOTED.sub(lambda m: m.group(0) if _kept(m.group(0)[1:-1], keep) else "…", first)
    if len(text) > _MAX:
        text = text[: _MAX - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kept(inner: str, keep: set[str]) -> bool:
    return inner in keep or bool(_DTYPE.match(inner))


def allowed_words(*texts: str | None, names: Iterable[str] = ()) -> set[str]:
    """What an error may quote: the dataset's column names, and the identifiers and
    literals of the authored text (the author wrote them; the data did not)."""
    words = set(names)
    for text in texts or ():
        if text:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
            words.update(a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text))
    return words
