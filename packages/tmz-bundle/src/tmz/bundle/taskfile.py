"""The MediaPipe ``.task`` container: an uncompressed zip whose entries start at aligned offsets.

Entries: ``TF_LITE_PREFILL_DECODE`` (the TFLite model), ``TOKENIZER_MODEL`` (SentencePiece), ``METADATA``
(a serialized ``LlmParameters``) and ``TMZ_MANIFEST`` (the bundle's own manifest, JSON), which MediaPipe
and LiteRT-LM ignore. Entry data is aligned to a page so the runtime can memory-map the model in place;
the padding is a zipalign-style extra field (id 0xD935), so any zip reader opens the file.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from tmz.bundle.errors import CorruptBundleError
from tmz.bundle.sections import Section

MODEL, TOKENIZER, METADATA, MANIFEST = "TF_LITE_PREFILL_DECODE", "TOKENIZER_MODEL", "METADATA", "TMZ_MANIFEST"
ALIGNMENT = 4096
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature .. file name length, extra field length (30 bytes)
_ZIP64_LOCAL_EXTRA = 20
_ALIGN_EXTRA_ID = 0xD935  # the alignment extra field of Android's zipalign
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry dates: the same inputs give the same bytes


def _padding(header_offset: int, name: str, zip64: bool) -> bytes:
    data_offset = (
        header_offset + _LOCAL_HEADER.size + len(name.encode()) + (_ZIP64_LOCAL_EXTRA if zip64 else 0)
    )
    pad = -data_offset % ALIGNMENT
    if 0 < pad < 4:  # an extra field needs its 4-byte id + length
        pad += ALIGNMENT
    return struct.pack("<HH", _ALIGN_EXTRA_ID, pad - 4) + bytes(pad - 4) if pad else b""


def write_task(out: IO[bytes], entries: list[tuple[str, bytes | Path]]) -> None:
    """Write ``entries`` (name, bytes or file) as an aligned, uncompressed zip to the seekable ``out``."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            size = len(data) if isinstance(data, bytes) else data.stat().st_size
            zip64 = size > zipfile.ZIP64_LIMIT // 2  # decided here so the header length is known
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = size
            info.extra = _padding(out.tell(), name, zip64)
            with zf.open(info, "w", force_zip64=zip64) as dst:
                if isinstance(data, bytes):
                    dst.write(data)
                else:
                    with open(data, "rb") as src:
                        shutil.copyfileobj(src, dst, 1 << 20)


def read_task(path: Path) -> list[Section]:
    """The entries of a ``.task`` with the byte range of their data; CorruptBundleError for a damaged zip."""
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
            sections = []
            for info in zf.infolist():
                raw.seek(info.header_offset)
                header = raw.read(_LOCAL_HEADER.size)
                if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                    raise CorruptBundleError(
                        f"{path}: entry {info.filename!r} has no local header; the file is damaged"
                    )
                name_len, extra_len = _LOCAL_HEADER.unpack(header)[-2:]
                if info.compress_type != zipfile.ZIP_STORED:
                    raise CorruptBundleError(
                        f"{path}: entry {info.filename!r} is compressed; a .task must be stored uncompressed"
                    )
                offset = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
                sections.append(
                    Section(
                        info.filename,
                        "zip_entry",
                        offset,
                        info.file_size,
                        {"aligned": offset % ALIGNMENT == 0},
                    )
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise CorruptBundleError(
            f"{path}: not a readable .task zip ({e}); it is truncated or damaged, rebuild it"
        ) from e
    size = path.stat().st_size
    for s in sections:
        if s.offset + s.size > size:
            raise CorruptBundleError(
                f"{path}: entry {s.name!r} runs past the end of the file; it is truncated"
            )
    return sections


def read_entry(path: Path, name: str) -> bytes:
    """One (small) entry's bytes, checked against its CRC-32; CorruptBundleError when they do not match."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read(name)
    except (zipfile.BadZipFile, OSError) as e:
        raise CorruptBundleError(f"{path}: entry {name!r} cannot be read ({e}); the file is damaged") from e


def _unsafe(name: str) -> bool:
    """A zip entry name that is a path (a folder, ``..``, absolute, a drive) rather than a bare name."""
    return name != PurePosixPath(name).name or "\\" in name or ":" in name or name in ("", ".", "..")


def layout_problems(path: Path) -> list[str]:
    """What in a ``.task`` is not as :func:`write_task` lays it out: entry names that are paths, that repeat, or
    whose local header names another; data not aligned to ALIGNMENT; bytes before, between or after the entries
    and the zip directory (every byte of the file belongs to one entry or to the directory); a zip comment."""
    problems = []
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
        seen: set[str] = set()
        expected = 0  # where the next local header must start
        for info in infos:
            name = info.filename
            if _unsafe(name):
                problems.append(f"entry {name!r} is a path, not a bare entry name")
            if name in seen:
                problems.append(f"entry {name!r} appears twice")
            seen.add(name)
            raw.seek(info.header_offset)
            header = raw.read(_LOCAL_HEADER.size)
            fields = _LOCAL_HEADER.unpack(header)
            method, sizes, (name_len, extra_len) = fields[3], fields[7:9], fields[-2:]
            if method != zipfile.ZIP_STORED or (
                0xFFFFFFFF not in sizes and sizes != (info.compress_size, info.file_size)
            ):
                problems.append(
                    f"entry {name!r}: its local header says another method or size than the zip directory"
                )
            if raw.read(name_len) != info.orig_filename.encode(
                "utf-8" if info.flag_bits & 0x800 else "cp437"
            ):
                problems.append(f"entry {name!r}: its local header names another entry")
            if info.header_offset != expected:
                problems.append(f"entry {name!r} starts at byte {info.header_offset}, expected {expected}")
            data = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
            if data % ALIGNMENT:
                problems.append(f"entry {name!r}: data at byte {data}, not aligned to {ALIGNMENT}")
            expected = data + info.compress_size
        # zipfile's own reading of the end record, so the check agrees with what zipfile (and tmz) opened
        end = zipfile._EndRecData(raw)  # type: ignore[attr-defined]
    if zf.start_dir != expected:
        problems.append(
            f"the zip directory starts at byte {zf.start_dir}, expected {expected} (bytes between)"
        )
    if end is not None:
        end_of_zip = end[zipfile._ECD_LOCATION] + zipfile.sizeEndCentDir + end[zipfile._ECD_COMMENT_SIZE]  # type: ignore[attr-defined]
        if end[zipfile._ECD_COMMENT_SIZE]:  # type: ignore[attr-defined]
            problems.append("the zip has a comment")
        if end_of_zip != size:
            problems.append(f"{size - end_of_zip} bytes follow the end of the zip")
    return problems
