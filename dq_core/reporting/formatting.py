"""How the report writes a value: by what it is, never as raw JSON or in scientific notation.

* **counts** (rows, unexpected rows, distinct values): whole numbers with thousands
  separators, ``336,776``;
* **percents**: at most two decimals, trailing zeros dropped, never rounded to a
  misleading ``0%`` or ``100%`` (``< 0.01%``, ``> 99.99%``);
* **numbers**: whole numbers as integers (``1959.0`` is ``1,959``, never ``1.959e+03``);
  others with a number of significant digits, in positional notation down to 10⁻⁶;
* **years**: the values of a *year-like* column are written without separators
  (``2013``, never ``2,013``): an integer column whose name contains ``year``, or whose
  values all lie within 1000..2999 (:func:`year_like`);
* **durations** from seconds or ISO 8601 (``PT24H``): ``1 d 2 h``, ``3 min 5 s``, ``1.5 s``;
* **timestamps** from ISO text: ``2026-11-20 08:00``, seconds when there are any, ``UTC``
  when the value has a zone; dates stay dates;
* **JSON objects and lists**: a list is a comma-separated line (``none`` when empty); an
  object is a list of ``label: value`` parts (:func:`parts`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import JsonValue

YEARS = (1000, 2999)  # integer values all within this range read as years
_YEAR_NAME = re.compile(r"year", re.IGNORECASE)
_INTEGER_DTYPE = re.compile(r"^U?Int\d+$")
_ISO_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_SMALLEST_POSITIONAL = 1e-6
DASH = "—"


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(value: object) -> bool:
    """An int, or a finite float without a fraction."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())


def integer_dtype(dtype: str) -> bool:
    return bool(_INTEGER_DTYPE.match(dtype))


def year_like(name: str, low: object, high: object, *, integers: bool = True) -> bool:
    """Whether integer values are years: the column's name says so, or they all lie in 1000..2999.

    ``integers`` says the column holds whole numbers (an integer dtype); ``low`` and
    ``high`` are its smallest and largest values (or a rule's bounds).
    """
    if not integers:
        return False
    if _YEAR_NAME.search(name):
        return True
    return whole(low) and whole(high) and YEARS[0] <= float(low) <= float(high) <= YEARS[1]  # type: ignore[arg-type]


def count(value: float | None) -> str:
    """A number of things: ``336,776``."""
    if value is None:
        return DASH
    if not whole(value):
        return number(value, digits=3)
    return f"{int(value):,}"


def _grouped(text: str, plain: bool) -> str:
    """``12345.5`` → ``12,345.5`` (the integer part only)."""
    if plain:
        return text
    sign = "-" if text.startswith("-") else ""
    digits, _, fraction = text.lstrip("-").partition(".")
    grouped = f"{int(digits):,}"
    return sign + grouped + ("." + fraction if fraction else "")


def number(value: float | None, *, digits: int = 4, plain: bool = False, exact: bool = False) -> str:
    """A number in positional notation: whole numbers as integers, others with ``digits``
    significant digits (``exact``: every digit the value holds). ``plain``: no separators."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if whole(value):
        return str(int(value)) if plain else f"{int(value):,}"
    magnitude = abs(value)
    if magnitude < _SMALLEST_POSITIONAL:
        return f"{value:.{max(digits - 1, 0)}e}"
    if exact:
        text = format(Decimal(repr(float(value))), "f")
    else:
        decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
        text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _grouped(text, plain)


def percent(value: float | None) -> str:
    """A share in percent: ``15.38%``, ``0%``, ``100%``, ``< 0.01%``, ``> 99.99%``."""
    if value is None:
        return DASH
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if whole(value):
        return f"{int(value)}%"
    if 0 < value < 0.005:  # noqa: PLR2004 - would round to 0.00
        return "< 0.01%"
    if 99.995 <= value < 100:  # noqa: PLR2004 - would round to 100.00
        return "> 99.99%"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def duration(seconds: float | None) -> str:
    """``45 ms``, ``1.5 s``, ``3 min 5 s``, ``2 h 10 min``, ``4 d 3 h``."""
    if seconds is None:
        return DASH
    sign = "−" if seconds < 0 else ""
    s = abs(float(seconds))
    if s < 1:
        return f"{sign}{s * 1000:.0f} ms"
    if s < 60:  # noqa: PLR2004
        return f"{sign}{s:.1f}".rstrip("0").rstrip(".") + " s"
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    whole_seconds = round(s)
    shown: list[tuple[int, str]] = []
    for name, size in units:
        amount, whole_seconds = divmod(whole_seconds, size)
        if amount or shown:
            shown.append((amount, name))
        if len(shown) == 2:  # noqa: PLR2004 - the two largest units are enough to read
            break
    return sign + " ".join(f"{amount} {name}" for amount, name in shown if amount)


def iso_duration(text: str) -> str:
    """An ISO 8601 duration (``PT24H``, ``P1D``) as :func:`duration` writes it; other text as it is."""
    match = _ISO_DURATION.fullmatch(text)
    if not match or text in ("P", "PT"):
        return text
    weeks, days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return duration(weeks * 604_800 + days * 86_400 + hours * 3_600 + minutes * 60 + seconds)


def looks_like_moment(value: object) -> bool:
    return isinstance(value, str) and bool(_ISO_MOMENT.fullmatch(value))


def timestamp(value: str | datetime | date | None) -> str:
    """``2026-11-20 08:00``, with ``:ss`` when there are seconds and ``UTC`` for zoned values."""
    if value is None:
        return DASH
    moment: datetime | date
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if len(value) == 10:  # noqa: PLR2004 - YYYY-MM-DD: a date stays a date
            return moment.date().isoformat()
    else:
        moment = value
    if not isinstance(moment, datetime):
        return moment.isoformat()
    zone = ""
    if moment.tzinfo is not None:
        moment, zone = moment.astimezone(UTC), " UTC"
    shape = "%Y-%m-%d %H:%M:%S" if moment.second or moment.microsecond else "%Y-%m-%d %H:%M"
    return moment.strftime(shape) + zone


def label(key: str) -> str:
    """A JSON key as a label: ``type_mismatches`` → ``type mismatches``."""
    return key.removesuffix("_seconds").replace("_", " ")


def value(item: JsonValue, *, plain: bool = False) -> str:
    """Any JSON value as one line: numbers by :func:`number`, ISO moments by :func:`timestamp`,
    lists comma-separated, objects as ``label: value`` pairs."""
    if item is None:
        return "null"
    if isinstance(item, bool):
        return "true" if item else "false"
    if is_number(item):
        return number(item, plain=plain, exact=True)  # type: ignore[arg-type]
    if isinstance(item, str):
        return timestamp(item) if looks_like_moment(item) else item
    if isinstance(item, list):
        return ", ".join(value(x, plain=plain) for x in item) if item else "none"
    if isinstance(item, dict):
        return "; ".join(f"{k}: {v}" for k, v in parts(item))
    return str(item)


def parts(item: dict[str, JsonValue]) -> list[tuple[str, str]]:
    """A JSON object as ``(label, value)`` pairs: a key ending in ``_seconds`` is a duration."""
    shown = []
    for key, entry in item.items():
        if key.endswith("_seconds") and is_number(entry):
            shown.append((label(key), duration(entry)))  # type: ignore[arg-type]
        else:
            shown.append((label(key), value(entry)))
    return shown
