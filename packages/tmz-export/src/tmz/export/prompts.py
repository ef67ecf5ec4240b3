"""Parity prompts: translation requests (text or image) taken from a dataset's test split (read with
:func:`tmz.core.dataset.read_split`), given by the caller (ParityPrompts, dataset-like rows, or (source, target,
input) triples), or built in; rendered for both engines with ``tmz.core.prompt``."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from tmz.core.dataset import UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT, Example, read_split
from tmz.core.errors import DataError
from tmz.core.prompt import Side, instruction, messages
from tmz.core.registry import Direction, Registry

#: Used only when neither the lineage nor the caller gives prompts (written for tmz; no corpus text).
BUILTIN_TEXTS = (
    ("en_Latn->zgh_Tfng", "Where is the hospital?"),
    ("en_Latn->zgh_Tfng", "I need water and bread."),
    ("fr_Latn->zgh_Tfng", "Merci beaucoup, à demain."),
    ("en_Latn->zgh_Latn", "The road to the village is closed."),
    ("zgh_Tfng->en_Latn", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ"),
    ("ar_Arab->zgh_Tfng", "أين محطة الحافلات؟"),
)
#: Built-in image prompts: synthetic, deterministic, never plain white (white hides the pixel-scaling trap).
BUILTIN_IMAGES = 2


@dataclass(frozen=True)
class ParityPrompt:
    """One request: translate ``text`` (or the text in ``image``) from ``source`` (None: unknown) to ``target``."""

    id: str
    source: Side | None
    target: Side
    text: str | None = None
    image: Path | None = None

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "text"

    def instruction(self, registry: Registry) -> str:
        """The tmz-v1 user text (what LiteRT-LM receives as the user message)."""
        return instruction(registry, self.source, self.target, self.text)

    def messages(self, registry: Registry) -> list[dict[str, Any]]:
        """The tmz-v1 conversation (what the PyTorch side renders with the checkpoint's chat template)."""
        return messages(registry, self.source, self.target, self.text)

    def direction(self) -> str:
        """The direction tag, as the dataset spells it (an image of unknown text: ``und_Zyyy->...``)."""
        src = self.source
        source = f"{src.language}_{src.script}" if src else f"{UNKNOWN_LANGUAGE}_{UNKNOWN_SCRIPT}"
        return f"{source}->{self.target.language}_{self.target.script}"


def side(
    registry: Registry, language: str | None, script: str | None, dialect: str | None = None
) -> Side | None:
    """A prompt side (None: an unknown source); Tamazight varieties carry their dialect (the row's, or the
    language code itself)."""
    if not language or language == UNKNOWN_LANGUAGE or not script:
        return None
    if language in registry.dialects:
        return Side(language, script, dialect or language)
    return Side(language, script)


def from_example(registry: Registry, ex: Example, dataset: Path) -> ParityPrompt:
    """A prompt from a dataset example (its image is relative to the ``dataset`` directory)."""
    dialect = ex.dialect
    source = None
    if ex.source_known:
        src_dialect = dialect if ex.source_language in registry.dialects else None
        source = side(registry, ex.source_language, ex.source_script, src_dialect)
    tgt_dialect = dialect if ex.target_language in registry.dialects else None
    target = side(registry, ex.target_language, ex.target_script, tgt_dialect)
    if target is None:
        raise DataError(f"{dataset}: example {ex.id!r} has no target language/script; rebuild the dataset")
    if ex.image is not None:
        return ParityPrompt(ex.id, source, target, None, dataset / ex.image)
    return ParityPrompt(ex.id, source, target, ex.source_text)


def from_row(registry: Registry, row: Mapping[str, Any], base: Path, index: int) -> ParityPrompt:
    """A prompt from a caller's row (dataset columns, docs/contracts.md; ``direction`` may stand in for the
    source language and script); ``image`` is relative to ``base``."""
    try:
        src_lang, tgt_lang = row.get("source_language"), row["target_language"]
        src_script, tgt_script = row.get("source_script"), row["target_script"]
        if src_lang is None and row.get("direction"):
            d = Direction.parse(row["direction"])
            src_lang, src_script = d.source, d.source_script
    except KeyError as e:
        raise DataError(
            f"prompt row {index}: missing field {e}; give dataset rows (docs/contracts.md)"
        ) from None
    dialect = row.get("dialect")
    source = side(registry, src_lang, src_script, dialect if src_lang in registry.dialects else None)
    target = side(registry, tgt_lang, tgt_script, dialect if tgt_lang in registry.dialects else None)
    if target is None:
        raise DataError(f"prompt row {index}: no target language/script")
    image = row.get("image")
    text = row.get("source_text")
    if image is None and not text:
        raise DataError(f"prompt row {index}: neither source_text nor image")
    return ParityPrompt(str(row.get("id") or f"p{index}"), source, target, None if image else text,
                        (base / image) if image else None)  # fmt: skip


def coerce(registry: Registry, items: Iterable[Any], base: Path = Path(".")) -> list[ParityPrompt]:
    """Prompts from ParityPrompt objects, dataset rows (mappings), or (source, target, text-or-image-path) triples."""
    out = []
    for i, item in enumerate(items):
        if isinstance(item, ParityPrompt):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(from_row(registry, item, base, i))
        elif isinstance(item, Sequence) and len(item) >= 3 and isinstance(item[1], Side):
            src, tgt, value = item[0], item[1], item[2]
            is_image = isinstance(value, Path)
            out.append(
                ParityPrompt(f"p{i}", src, tgt, None if is_image else str(value), value if is_image else None)
            )
        else:
            raise DataError(
                f"prompt {i}: {item!r} is not a dataset row, a ParityPrompt or a (source, target, input)"
            )
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a caller's JSON-lines prompt file; DataError naming the line when one is not JSON."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{n}: not JSON ({e})") from e
    return rows


def from_dataset(registry: Registry, dataset: Path, split: str = "test") -> list[ParityPrompt]:
    """The prompts of a dataset artifact's split; DataError when the split is missing or broken."""
    return [from_example(registry, ex, dataset) for ex in read_split(dataset, split)]


def builtin(
    registry: Registry, vision: bool, image_dir: Path, image_size: tuple[int, int]
) -> list[ParityPrompt]:
    """Built-in prompts: a few sentences, and for vision models synthetic noise-and-stripes images."""
    out = []
    for i, (tag, text) in enumerate(BUILTIN_TEXTS):
        d = Direction.parse(tag)
        src, tgt = side(registry, d.source, d.source_script), side(registry, d.target, d.target_script)
        if src is not None and tgt is not None and registry.supports(d):
            out.append(ParityPrompt(f"builtin-{i}", src, tgt, text))
    if vision:
        target = side(registry, "zgh", "Tfng")
        for i in range(BUILTIN_IMAGES):
            path = synthetic_image(image_dir / f"builtin-{i}.png", image_size, seed=i)
            out.append(ParityPrompt(f"builtin-image-{i}", None, target, None, path))
    return out


def synthetic_image(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A deterministic RGB image of coloured noise with stripes (far from plain white)."""
    rng = random.Random(seed)
    w, h = size
    pixels = bytearray(rng.randrange(256) for _ in range(w * h * 3))
    for y in range(0, h, 8):
        for x in range(w):
            pixels[(y * w + x) * 3 : (y * w + x) * 3 + 3] = bytes((20 * seed % 256, 90, 160))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("RGB", size, bytes(pixels)).save(path)
    return path
