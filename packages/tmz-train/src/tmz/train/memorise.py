"""Tiny models that answer a handful of prompts exactly (greedy): references for export, bundle and runtime parity.

``build_memorised`` builds a tiny base, writes the pairs as a dataset artifact (docs/contracts.md, "dataset",
through :mod:`tmz.core.dataset`), fine-tunes until the model reproduces every answer and merges it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from datasets import Dataset, DatasetDict
from PIL import Image, ImageDraw

from tmz.core.atomic import atomic_directory
from tmz.core.dataset import (
    IMAGES_DIR,
    SPLITS,
    UNKNOWN_LANGUAGE,
    UNKNOWN_SCRIPT,
    Example,
    features,
    write_dataset,
)
from tmz.core.errors import TmzError
from tmz.core.kinds.dataset import DatasetResults, DatasetSettings, RowCounts
from tmz.core.manifest import DatasetManifest, ModelManifest, Producer, list_files, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, messages
from tmz.core.registry import Direction
from tmz.train.config import load_config
from tmz.train.merging import merge
from tmz.train.sft import finetune
from tmz.train.tiny import build_tiny


class Pair(NamedTuple):
    """One memorised prompt: source side (None for an image of unknown text), target side, the input text or
    image path, and the exact answer."""

    source: Side | None
    target: Side
    input: str | Path
    answer: str


EN, FR = Side("en", "Latn"), Side("fr", "Latn")
ZGH_TFNG, ZGH_LATN = Side("zgh", "Tfng", "zgh"), Side("zgh", "Latn", "zgh")
TEXT_PAIRS = (
    Pair(EN, ZGH_TFNG, "Good morning", "ⵜⵉⴼⴰⵡⵉⵏ"),
    Pair(EN, ZGH_TFNG, "Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ"),
    Pair(FR, ZGH_LATN, "De l'eau", "aman"),
    Pair(ZGH_TFNG, EN, "ⴰⵖⵔⵓⵎ", "bread"),
)
#: Images are drawn (coloured shapes on coloured ground, never plain white); answers in Tifinagh.
IMAGE_PAIRS = (("sign-red", (200, 40, 40), (250, 230, 60), "ⴰⵙⴱⵉⵟⴰⵔ"), ("sign-blue", (30, 60, 190), (240, 240, 240), "ⴰⵎⴰⵏ"))  # fmt: skip


def draw_image(path: Path, ground: tuple[int, int, int], ink: tuple[int, int, int], size: int = 64) -> Path:
    """A sign-like RGB PNG: a coloured ground with a bar and a disc (deterministic)."""
    im = Image.new("RGB", (size, size), ground)
    d = ImageDraw.Draw(im)
    d.rectangle((size // 8, size // 3, size - size // 8, size // 2), fill=ink)
    d.ellipse((size // 3, size * 3 // 5, size * 2 // 3, size * 9 // 10), fill=ink)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def pair_row(i: int, pair: Pair, image: str | None = None) -> dict[str, Any]:
    """The dataset row (:class:`tmz.core.dataset.Example`, as stored in ``hf/``) of memorised pair ``i``
    (``image``: its path in the dataset)."""
    src = pair.source
    text = None if image else str(pair.input)
    direction = Direction(src.language if src else UNKNOWN_LANGUAGE, src.script if src else UNKNOWN_SCRIPT,
                          pair.target.language, pair.target.script)  # fmt: skip
    return Example(
        id=f"m{i}", group=f"g{i}", direction=direction.tag,
        source_language=direction.source, source_script=direction.source_script,
        target_language=pair.target.language, target_script=pair.target.script,
        dialect=pair.target.dialect or (src.dialect if src else None), domain=None,
        source_text=text, target_text=pair.answer, image=image, derived=False,
        messages=messages(get_registry(), src, pair.target, text, pair.answer),
    ).record()  # fmt: skip


def write_pairs(out: str | Path, pairs: list[Pair]) -> DatasetManifest:
    """A dataset artifact whose train, validation and test splits all hold ``pairs`` (image pairs: ``input`` is
    the image file, copied under ``images/``)."""
    with atomic_directory(out, "dataset") as tmp:
        rows = []
        for i, pair in enumerate(pairs):
            image = None
            if isinstance(pair.input, Path):
                image = f"{IMAGES_DIR}/{pair.input.name}"
                (tmp / IMAGES_DIR).mkdir(exist_ok=True)
                (tmp / image).write_bytes(pair.input.read_bytes())
            rows.append(pair_row(i, pair, image))
        ds = Dataset.from_list(rows, features=features())
        splits = write_dataset(tmp, DatasetDict({s: ds for s in SPLITS}))
        n = len(rows)
        manifest = DatasetManifest(
            name=Path(out).name, producer=Producer.of("tmz-train"), files=list_files(tmp),
            languages=sorted({x for r in rows for x in (r["source_language"], r["target_language"])}
                             - {UNKNOWN_LANGUAGE}),
            dialects=sorted({r["dialect"] for r in rows if r["dialect"]}),
            scripts=sorted({r["target_script"] for r in rows}), directions=sorted({r["direction"] for r in rows}),
            prompt_format=PROMPT_FORMAT_ID, settings=DatasetSettings(memorised=True),
            results=DatasetResults.of(splits, RowCounts(read=n, accepted=n, rejected=0)),
        )  # fmt: skip
        write_manifest(manifest, tmp)
    return manifest


#: The margin (logits) every answer token must lead its runner-up by: far above the int8 export's largest
#: per-token |delta log p| (0.54 measured on the demo model), so greedy answers agree in LiteRT-LM on any CPU.
MARGIN = 2.0
MEMORISE_CONFIG = {
    "training.max_steps": 400,
    "training.learned_margin": MARGIN,
    "training.learned_check_steps": 10,
    "training.per_device_batch_size": 8,
    "training.gradient_accumulation_steps": 1,
    "training.learning_rate": 1e-2,
    "training.lr_scheduler": "constant",
    "training.warmup_ratio": 0.0,
    "training.gradient_checkpointing": False,
    "training.packing": False,
    "training.save_steps": 10_000,
    "training.logging_steps": 10,
    "lora.dropout": 0.0,
    "data.eval_split": None,
    "eval.after_training": False,
}


def build_memorised(
    out: str | Path, *, vision: bool = False, steps: int | None = None
) -> tuple[ModelManifest, list[Pair]]:
    """A merged tiny model (``tiny`` or ``tiny-vision``) that reproduces every pair of the returned list exactly.

    Trains until every answer token leads its runner-up by :data:`MARGIN` logits (``steps`` caps it), then checks
    recall by greedy generation. Its dataset, base, adapter and images stay in ``<out>.memorise/`` (image pairs
    point there).

    Raises TmzError if the margin or exact recall was not reached (the model is then unfit for parity tests).
    """
    out = Path(out)
    work = out.with_name(out.name + ".memorise")
    if vision:
        pairs = [Pair(None, ZGH_TFNG, draw_image(work / "images" / f"{name}.png", ground, ink), answer)
                 for name, ground, ink, answer in IMAGE_PAIRS]  # fmt: skip
    else:
        pairs = list(TEXT_PAIRS)
    write_pairs(work / "data", pairs)
    overrides = dict(MEMORISE_CONFIG)
    if steps is not None:
        overrides["training.max_steps"] = steps
    texts = [str(p.input) for p in pairs if not isinstance(p.input, Path)] + [p.answer for p in pairs]
    build_tiny(work / "base", vision=vision, texts=texts)
    adapter = finetune(work / "data", backend="tiny-vision" if vision else "tiny", out=work / "adapter",
                       config=load_config(None, overrides), base=work / "base")  # fmt: skip
    learned, recalled = adapter.results.learned, adapter.results.recall
    if not learned.reached or recalled.exact != recalled.rows:
        raise TmzError(f"{out}: after {adapter.results.global_step} steps the smallest answer-token margin is "
                       f"{learned.min_margin} (wanted {MARGIN}) and greedy decoding recalls {recalled.exact} of "
                       f"{recalled.rows} answers (missed {recalled.missed}); raise steps")  # fmt: skip
    return merge(work / "adapter", out), pairs
