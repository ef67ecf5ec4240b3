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
from pathlib import Path
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
