"""The XLSX authoring layout, one convention for every object kind.

* Sheet ``meta``: two columns, ``field`` and ``value``. Each row sets one top-level
  field; dotted fields reach into nested objects (``storage.raw``, ``limits.max_columns``).
* Any other sheet is a list of objects. Its name is the list's dotted path:
  ``rules``, ``code_lists``, ``datasets``; nested lists add their field name:
  ``code_lists.codes``, ``datasets.columns``, ``datasets.bindings``.
  Row 1 holds the headers, each the dotted path of a field inside one item
  (``params.pattern``, ``check.params.threshold.must_be``). Every later row that is
  not empty is one item, in order.
* A nested sheet's first column is ``_parent``: the key of the item it belongs to
  (its ``id``, ``name`` or ``code``), with ``/`` between keys for deeper levels
  (``customers/email``).
* A header ending in ``[]`` holds a list: either a JSON array (``["GB", "US"]``) or
  values separated by ``;`` (``GB; US``).
* Empty cells are omitted, so the model's default applies.

The writer produces exactly this layout, so every object can be exported to Excel
and read back to the same canonical JSON.

Workbooks are read through :class:`~dq_core.ingest.sheets.BoundedWorkbook`: an
authoring file may not expand beyond ``MAX_EXPANSION`` times its size, nor hold more
than ``MAX_ROWS`` rows or ``MAX_CELL_BYTES`` characters of cell text (a 10 MB zip
bomb of tiny rows is refused in a fraction of a second, not read into gigabytes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, Final

from dq_core.errors import IngestError, LoadError
from dq_core.ingest.sheets import EXCEL_MAX_COLUMNS, BoundedWorkbook, SheetBudget

MAX_ROWS: Final = 200_000  # over every sheet of one authoring workbook
MAX_CELL_BYTES: Final = 64 * 1024**2
MAX_EXPANSION: Final = 100.0
_BUDGET = SheetBudget(
    max_rows=MAX_ROWS, max_columns=EXCEL_MAX_COLUMNS, max_cell_bytes=MAX_CELL_BYTES, max_ratio=MAX_EXPANSION
)

META = "meta"
PARENT = "_parent"
LIST_SUFFIX = "[]"
KEY_FIELDS = ("id", "name", "code")


# --- reading ----------------------------------------------------------------------------


def _cell_value(raw: Any, header: str, where: str, location: str) -> Any:
    if header.endswith(LIST_SUFFIX):
        if isinstance(raw, str) and raw.strip().startswith("["):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise LoadError(location, where, f"invalid JSON list: {exc.msg}") from None
        if isinstance(raw, str):
            return [part.strip() for part in raw.split(";") if part.strip()]
        return [raw]
    if isinstance(raw, str):
        return raw
    return raw


def _assign(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.removesuffix(LIST_SUFFIX).split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _key_of(item: dict[str, Any]) -> str | None:
    for field in KEY_FIELDS:
        if field in item and item[field] is not None:
            return str(item[field])
    return None


def _rows(workbook: BoundedWorkbook, sheet_name: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for number, values in workbook.rows(sheet_name):
        if any(str(cell).strip() != "" for cell in values.values()):
            yield number, tuple(values.get(column) for column in range(1, max(values) + 1))


def read_xlsx(content: bytes, location: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Read one workbook into plain data, plus where each list item came from."""
    try:
        with BoundedWorkbook(content, _BUDGET, location, data_only=True) as workbook:
            return _read_workbook(workbook, location)
    except IngestError as exc:
        raise LoadError(location, "", exc.message.removeprefix(f"{location}: ")) from None


def _read_workbook(workbook: BoundedWorkbook, location: str) -> tuple[dict[str, Any], dict[str, str]]:
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    if META not in workbook.sheetnames:
        raise LoadError(location, "", "the workbook has no 'meta' sheet")
    for number, row in _rows(workbook, META):
        if number == 1 and row[0] == "field":
            continue
        field, value = ((*row, None, None))[:2]
        if value is None or field is None:
            continue
        _assign(
            data, str(field).strip(), _cell_value(value, str(field).strip(), f"sheet 'meta', row {number}", location)
        )

    # parent sheets before child sheets; keys of items by (sheet path, key chain)
    items_by_key: dict[tuple[str, str], dict[str, Any]] = {}
    paths_by_key: dict[tuple[str, str], str] = {}
    for sheet_name in sorted((n for n in workbook.sheetnames if n != META), key=lambda n: n.count(".")):
        _read_list_sheet(workbook, sheet_name, data, items_by_key, paths_by_key, origins, location)
    return data, origins


def _read_list_sheet(
    workbook: BoundedWorkbook,
    sheet_name: str,
    data: dict[str, Any],
    items_by_key: dict[tuple[str, str], dict[str, Any]],
    paths_by_key: dict[tuple[str, str], str],
    origins: dict[str, str],
    location: str,
) -> None:
    rows = list(_rows(workbook, sheet_name))
    if not rows:
        return
    headers = [str(h).strip() if h is not None else "" for h in rows[0][1]]
    parent_path, _, field = sheet_name.rpartition(".")
    for number, row in rows[1:]:
        where = f"sheet {sheet_name!r}, row {number}"
        item: dict[str, Any] = {}
        parent_key = ""
        for header, raw in zip(headers, row, strict=False):
            if not header or raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            if header == PARENT:
                parent_key = str(raw).strip()
                continue
            _assign(item, header, _cell_value(raw, header, where, location))
        if parent_path:
            parent = items_by_key.get((parent_path, parent_key))
            if parent is None:
                raise LoadError(location, where, f"_parent {parent_key!r} is not a row of sheet {parent_path!r}")
            siblings = parent.setdefault(field, [])
            item_path = f"{paths_by_key[(parent_path, parent_key)]}.{field}[{len(siblings)}]"
            chain = f"{parent_key}/"
        else:
            siblings = data.setdefault(field, [])
            item_path = f"{field}[{len(siblings)}]"
            chain = ""
        siblings.append(item)
        origins[item_path] = where
        key = _key_of(item)
        if key is not None:
            items_by_key[(sheet_name, chain + key)] = item
            paths_by_key[(sheet_name, chain + key)] = item_path


def read_xlsx_file(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    return read_xlsx(path.read_bytes(), str(path))


# --- writing ----------------------------------------------------------------------------


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _flatten(item: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any, bool]]:
    """Yield (dotted path, value, is_list) for scalars, scalar lists and keyless object lists."""
    for field, value in item.items():
        path = f"{prefix}{field}"
        if isinstance(value, dict):
            if value:
                yield from _flatten(value, path + ".")
        elif isinstance(value, list):
            if value:
                yield path, value, True
        elif value is not None:
            yield path, value, False


def write_xlsx(data: dict[str, Any]) -> bytes:
    """Write plain object data in the layout :func:`read_xlsx` reads."""
    from openpyxl import Workbook  # noqa: PLC0415 - imported by the few commands that write workbooks

    workbook = Workbook()
    meta = workbook.active
    meta.title = META
    meta.append(["field", "value"])
    sheets: dict[str, list[dict[str, Any]]] = {}
    for path, value, is_list in _flatten(_split_nested(data, "", "", sheets)):
        _append(meta, [path + (LIST_SUFFIX if is_list else ""), _cell(value, is_list)])
    for sheet_name, rows in sheets.items():
        sheet = workbook.create_sheet(sheet_name)
        headers: list[str] = []
        flat_rows = []
        for row in rows:
            flat = {p + (LIST_SUFFIX if lst else ""): _cell(v, lst) for p, v, lst in _flatten(row)}
            flat_rows.append(flat)
            headers += [h for h in flat if h not in headers]
        if PARENT in headers:
            headers.remove(PARENT)
            headers.insert(0, PARENT)
        sheet.append(headers)
        for flat in flat_rows:
            _append(sheet, [flat.get(header) for header in headers])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _split_nested(
    item: dict[str, Any], sheet_path: str, key_chain: str, sheets: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Move lists of keyed objects out of ``item`` into their own sheets."""
    kept: dict[str, Any] = {}
    for field, value in item.items():
        child_path = f"{sheet_path}.{field}" if sheet_path else field
        if (
            _is_object_list(value)
            and all(_key_of(child) is not None for child in value)
            and (not sheet_path or key_chain)
        ):
            rows = sheets.setdefault(child_path, [])
            for child in value:
                child_chain = f"{key_chain}/{_key_of(child)}" if key_chain else str(_key_of(child))
                row = _split_nested(child, child_path, child_chain, sheets)
                if sheet_path:
                    row = {PARENT: key_chain, **row}
                rows.append(row)
        elif _is_object_list(value) and not sheet_path and field not in sheets:
            # top-level list of objects without keys (e.g. references): its own sheet, no nesting below
            sheets[child_path] = list(value)
        else:
            kept[field] = value
    return kept


def _append(sheet: Any, values: list[Any]) -> None:
    """Append a row; text that starts with '=' stays text, never becomes a formula."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _cell(value: Any, is_list: bool) -> Any:
    if is_list:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value
