"""The raw text a reader reads: identity, encodings, gzip, the header, and the verdict of the byte pass.

What :class:`~dq_core.ingest.stream.ChunkedRead` does to a text file before polars reads it, and
after the numpy pass over its bytes (:mod:`dq_core.ingest.textscan`) has run: the SHA-256 in blocks,
a ``csv.gz`` decompressed as a stream under the expansion ceiling, another encoding transcoded as a
stream to a temporary UTF-8 file, the head sniffed and the header checked, and the refusals of the
pass (lines too long, ragged records; quoted line breaks confirmed record by record by ``csv``).
The raw file is never modified.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from dq_core.errors import IngestError
from dq_core.ingest.formats import SNIFF_BYTES, IngestOptions, expansion_ceiling
from dq_core.libraries.infra import IngestLimits

if TYPE_CHECKING:
    from dq_core.ingest.quickscan import QuickScan

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
BLOCK = 1 << 20  # bytes read at a time from the raw file

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _has_multibyte(path: Path) -> bool:
    """Valid UTF-8 multi-byte characters anywhere in the file (a mixed-encoding file has some)."""
    tail = b""
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            if _UTF8_MULTIBYTE.search(tail + block):
                return True
            tail = block[-3:]
    return False


def gunzip_to(source: Path, target: Path, limits: IngestLimits, name: str) -> None:
    """Every member of a (possibly multi-member) gzip stream, decompressed as a stream into
    ``target`` under the expansion ceiling; a truncated stream is refused."""
    ceiling = expansion_ceiling(source.stat().st_size, limits)
    written = 0
    inflater: zlib._Decompress | None = None
    pending = b""
    try:
        with source.open("rb") as src, target.open("wb") as out:
            while True:
                if not pending:
                    pending = src.read(1 << 16)
                    if not pending:
                        break
                if inflater is None:
                    pending = pending.lstrip(b"\x00") if written else pending
                    if not pending:
                        continue
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                piece = inflater.decompress(pending, ceiling + 1 - written)
                written += len(piece)
                out.write(piece)
                if written > ceiling or inflater.unconsumed_tail:
                    raise IngestError(
                        "decompression_ratio",
                        f"{name}: expands beyond {limits.max_decompression_ratio:g}x its size or the size limit",
                    )
                pending = b""
                if inflater.eof:
                    pending, inflater = inflater.unused_data, None
    except zlib.error as exc:
        raise IngestError("format_mismatch", f"{name}: not a valid gzip stream ({exc})") from None
    if inflater is not None:
        raise IngestError("format_mismatch", f"{name}: the gzip stream is truncated")


def _transcode(source: Path, target: Path, encoding: str, name: str, *, detected: bool = False) -> None:
    """``source`` in ``encoding`` as UTF-8 in ``target``, block by block."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with source.open("rb") as src, target.open("w", encoding="utf-8", newline="") as out:
            for block in iter(lambda: src.read(BLOCK), b""):
                out.write(decoder.decode(block))
            out.write(decoder.decode(b"", final=True))
    except (UnicodeDecodeError, LookupError) as exc:
        if detected:
            raise IngestError(
                "encoding_unknown", f"{name}: looks like {encoding} but does not decode; give --encoding"
            ) from None
        raise IngestError("encoding_unknown", f"{name}: cannot be read as {encoding}: {exc}") from None


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


@dataclass(frozen=True)
class _Text:
    path: Path  # UTF-8 text polars can read: the raw file itself, or a temporary copy
    encoding: str
    checked: bool  # known to be UTF-8 (written by the transcoder)


def _declared_text(text: Path, folder: Path, options: IngestOptions, name: str) -> _Text:
    """The file as UTF-8 when its encoding is known before reading it: declared (``--encoding``) or a
    UTF-16 BOM (transcoded as a stream); else the file itself, to be checked by the pass over its bytes (``textscan``).
    NUL bytes in the head of a file without a BOM: binary content."""
    with text.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    target = folder / "transcoded.csv"
    if options.encoding and not _is_utf8(options.encoding):
        _transcode(text, target, options.encoding, name)
        return _Text(target, options.encoding, checked=True)
    bom = None if options.encoding else next((codec for mark, codec in _BOMS if head.startswith(mark)), None)
    if bom == "utf-16":
        _transcode(text, target, "utf-16", name)
        return _Text(target, "utf-16", checked=True)
    if bom is None and not options.encoding and b"\x00" in head:
        raise IngestError("format_mismatch", f"{name}: binary content (NUL bytes) where text was declared")
    return _Text(text, options.encoding or bom or "utf-8", checked=False)


def _detected_text(text: Path, folder: Path, options: IngestOptions, bad_line: int, name: str) -> _Text:
    """A file that is not UTF-8: refused when it was declared so or mixes encodings, else transcoded
    from the encoding detected on its head."""
    if options.encoding:
        raise IngestError("encoding_unknown", f"{name}: cannot be read as {options.encoding}: line {bad_line}")
    if _has_multibyte(text):
        raise IngestError(
            "encoding_mixed", f"{name}: line {bad_line} is not UTF-8 while other lines are; one file, one encoding"
        )
    from charset_normalizer import from_bytes  # noqa: PLC0415 - only for files that are not UTF-8

    with text.open("rb") as handle:
        best = from_bytes(handle.read(4 * SNIFF_BYTES)).best()
    if best is None:
        raise IngestError("encoding_unknown", f"{name}: the text encoding cannot be determined; give --encoding")
    target = folder / "transcoded.csv"
    _transcode(text, target, best.encoding, name, detected=True)
    return _Text(target, best.encoding, checked=True)


def _head(path: Path, limits: IngestLimits) -> str:
    """The first bytes of the text, at least its first line (up to the line limit)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        while b"\n" not in head and len(head) <= limits.max_line_bytes + SNIFF_BYTES:
            block = handle.read(BLOCK)
            if not block:
                break
            head += block
    return head.decode("utf-8", errors="ignore").removeprefix("\ufeff")


def _header(head: str, delimiter: str, quote: str, limits: IngestLimits, name: str) -> list[str]:
    """The header's names, checked: the column limit first on the first line's delimiters (linear),
    then the parsed record, its width and repeated names."""
    first = head.split("\n", 1)[0]
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter, quotechar=quote), None)
    except csv.Error as exc:
        if first.count(delimiter) + 1 > limits.max_columns:
            header = first.split(delimiter)
        else:
            raise IngestError("format_mismatch", f"{name}: not CSV: {exc}") from None
    if not header:
        raise IngestError("empty_file", f"{name}: no header line")
    if len(header) > limits.max_columns:
        raise IngestError("too_many_columns", f"{name}: {len(header)} columns, over the limit of {limits.max_columns}")
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)
    if repeated:
        raise IngestError("duplicate_columns", f"{name}: the header repeats {', '.join(repeated[:10])}")
    return header


def _verdict(
    scan: QuickScan, path: Path, width: int, delimiter: str, quote: str, limits: IngestLimits, name: str
) -> None:
    """Refuse on what the pass found: a line over the limit (in characters, as always: bytes bound
    them, so only a file with a line over the limit in bytes is measured in characters), a record
    of another width than the header (confirmed record by record by ``csv`` when the file has quotes:
    a quote inside an unquoted field is a character there)."""
    if scan.longest > limits.max_line_bytes:
        longest = (
            pl.scan_lines(path).select(pl.col("line").str.strip_suffix("\r").str.len_chars().max()).collect().item()
        )
        if longest > limits.max_line_bytes:
            raise IngestError(
                "line_too_long", f"{name}: a line of {longest} characters, over the limit of {limits.max_line_bytes}"
            )
    if scan.ragged is None and not scan.stray:
        return
    if scan.quoted or scan.ragged is None:  # stray quotes make the count unreliable: csv decides
        _check_records(path, width, delimiter, quote, name)
        return
    line, fields = scan.ragged
    raise IngestError("ragged_rows", f"{name}: line {line} has {fields} fields, the header has {width}")


def _check_records(path: Path, width: int, delimiter: str, quote: str, name: str) -> None:
    """The field count of every record, record by record (only for files with quoted line breaks)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar=quote)
        try:
            next(reader, None)
            for record in reader:
                if record and len(record) != width:
                    raise IngestError(
                        "ragged_rows",
                        f"{name}: line {reader.line_num} has {len(record)} fields, the header has {width}",
                    )
        except csv.Error as exc:
            raise IngestError("format_mismatch", f"{name}: line {reader.line_num}: {exc}") from None
