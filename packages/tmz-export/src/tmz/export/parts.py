"""Which parts of a multimodal checkpoint an export carries, read from its safetensors headers (no weights)."""

from __future__ import annotations

import math
from pathlib import Path

from safetensors import SafetensorError, safe_open

from tmz.core.kinds.export import CheckpointParts
from tmz.export.checkpoint import Checkpoint
from tmz.export.errors import ExportError

#: Weight-name components of the parts a text export converts: the language model (with its embeddings, and
#: Gemma 3n's per-layer embeddings) and the output head.
TEXT_PARTS = frozenset({"language_model", "lm_head"})
#: The parts an export with the vision encoder converts as well.
VISION_PARTS = frozenset({"vision_tower", "multi_modal_projector", "embed_vision"})


def tensor_shapes(directory: Path) -> dict[str, list[int]]:
    """Every tensor's shape in the checkpoint's ``*.safetensors`` files, from their headers (no weights read)."""
    shapes: dict[str, list[int]] = {}
    for file in sorted(directory.glob("*.safetensors")):
        try:
            with safe_open(file, framework="pt") as f:
                shapes |= {k: f.get_slice(k).get_shape() for k in f.keys()}  # noqa: SIM118 (not a dict)
        except SafetensorError as e:
            raise ExportError(f"{file}: not a safetensors file ({e}); re-save the checkpoint") from e
    return shapes


def part_name(weight: str) -> str:
    """The top-level part a weight belongs to: ``model.<part>`` for a wrapped model, else its first name."""
    names = weight.split(".")
    return ".".join(names[:2]) if names[0] == "model" and len(names) > 2 else names[0]


def checkpoint_parts(ckpt: Checkpoint, vision: bool) -> CheckpointParts | None:
    """Kept and dropped parts (parameter counts) of a multimodal checkpoint exported with or without its vision
    encoder; None for a text-only one (no ``text_config``), which is exported whole."""
    if "text_config" not in ckpt.config:
        return None
    keep = TEXT_PARTS | (VISION_PARTS if vision else frozenset())
    counts: dict[str, int] = {}
    for weight, shape in tensor_shapes(ckpt.path).items():
        part = part_name(weight)
        counts[part] = counts.get(part, 0) + math.prod(shape)
    kept = {p: n for p, n in sorted(counts.items()) if keep & set(p.split("."))}
    return CheckpointParts(kept=kept, dropped={p: n for p, n in sorted(counts.items()) if p not in kept})


def describe_parts(parts: CheckpointParts) -> str:
    """One line: what the export kept and what it dropped."""

    def listed(d: dict[str, int]) -> str:
        return ", ".join(f"{p} ({n:,} parameters)" for p, n in d.items()) or "nothing"

    return f"kept {listed(parts.kept)}; dropped {listed(parts.dropped)}"
