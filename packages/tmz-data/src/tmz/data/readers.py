"""Streaming readers: csv, tsv, json (array), jsonl, parquet and line-aligned text files, one record at a time.

Text is decoded as UTF-8 with ``surrogateescape``, so a bad byte never stops a file: the row that holds it
is rejected later with its file and line (see :func:`invalid_utf8`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmz.core.errors import DataError, TmzError

TABLE_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".parquet": "parquet"}
_ENCODING = {"encoding": "utf-8-sig", "errors": "surrogateescape"}
#: A csv field larger than this stops the file (fields over ``max_chars`` are rejected row by row).
CSV_FIELD_LIMIT = 64 * 1024 * 1024
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, as surrogateescape keeps them
_SNIFF = 64 * 1024
_BOMS = (
    (b"\xff\xfe\0\0", "UTF-32"),
    (b"\0\0\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)

csv.field_size_limit(min(sys.maxsize, CSV_FIELD_LIMIT))


@dataclass
class Record:
    """One input row: where it came from and its fields (or why it could not be parsed)."""

    file: str
    line: int | None  # first physical line (1-based), None for parquet and json arrays
    row: int  # record number in its file (1-based)
    data: dict[str, Any]
    error: tuple[str, str] | None = None  # (code, reason) when the row could not be parsed at all


@dataclass(frozen=True)
class AlignedSource:
    """Line-aligned text files, one per language-script tag (``{"en_Latn": path, "zgh_Tfng": path}``)."""

    files: Mapping[str, Path]

    @property
    def name(self) -> str:
        return " + ".join(str(p) for p in self.files.values())


def invalid_utf8(value: str) -> str | None:
    """The first undecodable byte of a surrogate-escaped string, as text, or None when it is clean."""
    m = _ESCAPED.search(value)
    return f"0x{ord(m.group()) - 0xDC00:02x}" if m else None


def table_format(path: Path) -> str:
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unknown file type {path.suffix or '(no extension)'!r}; use one of "
            f"{sorted(TABLE_FORMATS)}, or a directory of line-aligned text files named like seed_eng_Latn"
        )
    return fmt


def _require_content(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; give a file with a header and rows")


def require_utf8(path: Path, header: bool) -> None:
    """DataError when a text file is plainly not UTF-8: a UTF-16/32 byte-order mark, NUL bytes, or (``header``) a
    first line that does not decode; bytes that are not UTF-8 further down only reject their rows."""
    with open(path, "rb") as f:
        head = f.read(_SNIFF)
    found = next(
        (f"it starts with a {name} byte-order mark" for bom, name in _BOMS if head.startswith(bom)), None
    )
    if found is None and b"\0" in head:
        found = "it holds NUL bytes (UTF-16, or not a text file)"
    if found is None and header:
        try:
            head.split(b"\n", 1)[0].decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < len(head) - 4:  # not a character cut by the sample's end
                found = f"byte 0x{head[e.start]:02x} of its header line does not decode (Latin-1 or another encoding)"
    if found:
        raise DataError(
            f"{path}: not UTF-8: {found}; save the file as UTF-8 ('CSV UTF-8' in a spreadsheet, or "
            f"`iconv -f <its encoding> -t UTF-8 {path.name}`)"
        )


def read_table(path: Path) -> tuple[list[str], Iterator[Record]]:
    """The column names of a table file and an iterator over its records."""
    _require_content(path)
    fmt = table_format(path)
    if fmt != "parquet":
        require_utf8(path, header=fmt in ("csv", "tsv"))
    reader = {
        "csv": _read_csv,
        "tsv": _read_csv,
        "json": _read_json,
        "jsonl": _read_jsonl,
        "parquet": _read_parquet,
    }
    return reader[fmt](path)


def _read_csv(path: Path) -> tuple[list[str], Iterator[Record]]:
    f = open(path, newline="", **_ENCODING)  # noqa: SIM115 (closed by the generator)
    reader = csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        f.close()
        raise DataError(f"{path}: the file is empty; give a file with a header and rows") from None
    except csv.Error as e:
        f.close()
        raise DataError(f"{path}:1: cannot read the header ({e})") from e
    if not any(header):
        f.close()
        raise DataError(f"{path}:1: the header is blank; the first line must name the columns")

    def records() -> Iterator[Record]:
        with f:
            line, n = reader.line_num + 1, 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    raise DataError(
                        f"{path}:{line}: malformed csv ({e}); fix the quoting on that line"
                    ) from e
                if not values or not any(v.strip() for v in values):
                    line = reader.line_num + 1
                    continue
                n += 1
                if len(values) != len(header):
                    data = dict(zip(header, values, strict=False))
                    reason = f"{len(values)} fields where the header has {len(header)}; check the delimiter/quoting"
                    yield Record(str(path), line, n, data, ("ragged_row", reason))
                else:
                    yield Record(str(path), line, n, dict(zip(header, values, strict=True)))
                line = reader.line_num + 1
            if n == 0:
                raise DataError(f"{path}: the header has no rows under it; add rows or drop the file")

    return header, records()


def _read_jsonl(path: Path) -> tuple[list[str], Iterator[Record]]:
    def parsed() -> Iterator[Record]:
        n = 0
        with open(path, **_ENCODING) as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                n += 1
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield Record(
                        str(path),
                        line_no,
                        n,
                        {},
                        ("invalid_json", f"invalid JSON: {e.msg} at column {e.colno}"),
                    )
                    continue
                if not isinstance(obj, dict):
                    reason = f"a JSON line must be an object, found {type(obj).__name__}"
                    yield Record(str(path), line_no, n, {}, ("invalid_json", reason))
                    continue
                yield Record(str(path), line_no, n, obj)
        if n == 0:
            raise DataError(f"{path}: the file holds no JSON lines; give one object per line")

    it = parsed()
    first = next(it)  # the columns are those of the first parseable object
    return list(first.data), _chain(first, it)


def _read_json(path: Path) -> tuple[list[str], Iterator[Record]]:
    with open(path, **_ENCODING) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(
                f"{path}:{e.lineno}: invalid JSON ({e.msg} at column {e.colno}); fix the file"
            ) from e
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise DataError(f"{path}: a .json corpus must be an array of objects (use .jsonl for one per line)")
    if not data:
        raise DataError(f"{path}: the JSON array is empty; add objects or drop the file")
    return list(data[0]), (Record(str(path), None, i, obj) for i, obj in enumerate(data, 1))


def _read_parquet(path: Path) -> tuple[list[str], Iterator[Record]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError for non-parquet content
        raise DataError(f"{path}: not a readable parquet file ({e})") from e
    if pf.metadata.num_rows == 0:
        raise DataError(f"{path}: the parquet file has no rows")

    def records() -> Iterator[Record]:
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                n += 1
                yield Record(str(path), None, n, obj)

    return pf.schema_arrow.names, records()


def _chain(first: Record, rest: Iterator[Record]) -> Iterator[Record]:
    yield first
    yield from rest


def count_lines(path: Path) -> int:
    """Lines of a text file (a last line without a newline counts)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def read_aligned(source: AlignedSource) -> Iterator[Record]:
    """One record per line index; DataError when the files do not have the same number of lines."""
    for path in source.files.values():
        _require_content(Path(path))
        require_utf8(Path(path), header=False)
    counts = {tag: count_lines(Path(p)) for tag, p in source.files.items()}
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{source.files[t]} ({t}): {n} lines" for t, n in counts.items())
        raise DataError(
            f"line-aligned files differ in length: {detail}; every file needs one line per sentence"
        )
    handles = [open(p, **_ENCODING) for p in source.files.values()]  # noqa: SIM115
    tags = list(source.files)
    try:
        for n, lines in enumerate(zip(*handles, strict=True), 1):
            yield Record(source.name, n, n, {t: ln.rstrip("\r\n") for t, ln in zip(tags, lines, strict=True)})
    finally:
        for h in handles:
            h.close()


def aligned_files(directory: Path, resolve_tag: Callable[[str], tuple[str, str]]) -> AlignedSource:
    """The line-aligned files of a directory: names ending in a language tag (seed_eng_Latn, x.fr_Latn.txt)."""
    found: dict[str, Path] = {}
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        stem = path.name.removesuffix(".txt")
        if path.suffix not in ("", ".txt") and "_" not in path.suffix:
            continue  # README.md, metadata.tsv, ...
        parts = stem.replace(".", "_").split("_")
        if len(parts) < 2:
            continue
        try:
            code, script = resolve_tag(f"{parts[-2]}_{parts[-1]}")
        except TmzError:
            continue
        key = f"{code}_{script}"
        if key in found:
            raise DataError(f"{directory}: both {found[key].name} and {path.name} hold {key}; keep one")
        found[key] = path
    if len(found) < 2:
        raise DataError(
            f"{directory}: found {len(found)} line-aligned file(s) named like seed_eng_Latn or "
            "phrases.fr_Latn.txt; need at least two languages"
        )
    return AlignedSource(found)
