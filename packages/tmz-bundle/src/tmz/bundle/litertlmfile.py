"""The LiteRT-LM ``.litertlm`` container, written by ``litert_lm_builder.LitertLmFileBuilder`` and read
through its header reader (``litertlm_peek``), so files made by other tools (litert-torch) read too.

The tmz manifest travels as the system metadata string ``tmz_manifest``.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import litert_lm_builder as lb
from litert_lm_builder import litertlm_core, litertlm_peek
from litert_lm_builder import litertlm_header_schema_py_generated as schema
from litert_lm_builder.runtime.proto import llm_metadata_pb2

from tmz.bundle.errors import CorruptBundleError
from tmz.bundle.sections import Section

MANIFEST_KEY = "tmz_manifest"
LLM_METADATA, TOKENIZER = "LlmMetadataProto", "SP_Tokenizer"
#: export component role -> LiteRT-LM TFLite model type
MODEL_TYPES = {
    "prefill_decode": lb.TfLiteModelType.PREFILL_DECODE,
    "embedder": lb.TfLiteModelType.EMBEDDER,
    "per_layer_embedder": lb.TfLiteModelType.PER_LAYER_EMBEDDER,
    "vision_encoder": lb.TfLiteModelType.VISION_ENCODER,
    "vision_adapter": lb.TfLiteModelType.VISION_ADAPTER,
}


@dataclass(frozen=True)
class LitertLmHeader:
    """A ``.litertlm`` header: file format version, system metadata, sections, and where the header ends."""

    version: str
    system_metadata: dict[str, Any]
    sections: list[Section]
    header_end: int


def write_litertlm(
    out: IO[bytes],
    *,
    llm_metadata: bytes,
    tokenizer: bytes,
    models: dict[str, Path],
    system_metadata: dict[str, str],
) -> None:
    """Write a ``.litertlm``: LLM metadata, SentencePiece tokenizer (the model's bytes) and TFLite models
    (role -> file)."""
    builder = lb.LitertLmFileBuilder()
    for key, value in system_metadata.items():
        builder.add_system_metadata(lb.Metadata(key=key, value=value, dtype=lb.DType.STRING))
    with tempfile.TemporaryDirectory(prefix="tmz-bundle-") as tmp:
        md_path = Path(tmp) / "llm_metadata.pb"
        md_path.write_bytes(llm_metadata)
        builder.add_llm_metadata(str(md_path))
        sp_path = Path(tmp) / "tokenizer.model"
        sp_path.write_bytes(tokenizer)
        builder.add_sentencepiece_tokenizer(str(sp_path))
        for role, path in models.items():
            builder.add_tflite_model(str(path), MODEL_TYPES[role])
        builder.build(out, validate_metadata=True)


def section_name(data_type: str, items: dict[str, Any]) -> str:
    """A section's name: its model type for TFLite models, else its data type."""
    return str(items.get("model_type") or data_type)


def read_litertlm(path: Path) -> LitertLmHeader:
    """The header of a ``.litertlm`` (any producer); CorruptBundleError when it is not a readable one."""
    size = path.stat().st_size
    try:
        meta = litertlm_peek.read_litertlm_header(str(path), io.StringIO())
        with open(path, "rb") as f:
            f.seek(8)
            version = ".".join(str(int.from_bytes(f.read(4), "little")) for _ in range(3))
            f.seek(litertlm_core.HEADER_END_LOCATION_BYTE_OFFSET)
            header_end = int.from_bytes(f.read(8), "little")
        sm = meta.SystemMetadata()
        system = {}
        for i in range(sm.EntriesLength() if sm else 0):
            kv = litertlm_peek.kvp_to_dict(sm.Entries(i))
            system[kv["key"]] = kv["value"]
        sections = []
        smd = meta.SectionMetadata()
        for i in range(smd.ObjectsLength() if smd else 0):
            obj: schema.SectionObject = smd.Objects(i)
            items = {}
            for j in range(obj.ItemsLength()):
                kv = litertlm_peek.kvp_to_dict(obj.Items(j))
                items[kv["key"]] = kv["value"]
            data_type = litertlm_core.any_section_data_type_to_string(obj.DataType())
            begin, end = obj.BeginOffset(), obj.EndOffset()
            sections.append(Section(section_name(data_type, items), data_type, begin, end - begin, items))
    except CorruptBundleError:
        raise
    except Exception as e:  # the flatbuffer reader fails in many ways on a damaged header
        raise CorruptBundleError(
            f"{path}: not a readable .litertlm ({type(e).__name__}: {e}); rebuild it"
        ) from e
    for s in sections:
        if s.size < 0 or s.offset + s.size > size:
            raise CorruptBundleError(
                f"{path}: section {s.name!r} ends at byte {s.offset + s.size} but the file has {size}; it is truncated"
            )
    return LitertLmHeader(version, system, sections, header_end)


def _zeros(f: IO[bytes], begin: int, end: int) -> bool:
    """Whether bytes ``begin`` to ``end`` of ``f`` are all zeros (read in chunks)."""
    f.seek(begin)
    while begin < end:
        chunk = f.read(min(1 << 20, end - begin))
        if not chunk or chunk.strip(b"\0"):
            return False
        begin += len(chunk)
    return True


def layout_problems(path: Path, sections: list[Section], header_end: int) -> list[str]:
    """What in a ``.litertlm`` is not as ``LitertLmFileBuilder`` lays it out: section names that repeat, sections
    that overlap the header or each other, padding that is not zeros, bytes after the last section."""
    problems = []
    names = [s.name for s in sections]
    problems += [f"section {n!r} appears twice" for n in sorted({n for n in names if names.count(n) > 1})]
    at = header_end
    with open(path, "rb") as f:
        for s in sorted(sections, key=lambda s: s.offset):
            if s.offset < at:
                problems.append(f"section {s.name!r} starts at byte {s.offset}, inside what comes before it")
            elif s.offset > at and not _zeros(f, at, s.offset):
                problems.append(f"the padding before section {s.name!r} (bytes {at}-{s.offset}) is not zeros")
            at = max(at, s.offset + s.size)
    size = path.stat().st_size
    if size != at:
        problems.append(f"{size - at} bytes follow the last section")
    return problems


def parse_llm_metadata(data: bytes) -> llm_metadata_pb2.LlmMetadata:
    """Parse an ``LlmMetadataProto`` section."""
    return llm_metadata_pb2.LlmMetadata.FromString(data)
