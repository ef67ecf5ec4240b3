"""Scoring a bundle on a tmz dataset's split, through the bundle itself on LiteRT-LM.

Each row's user turn (the ``messages`` tmz-data rendered with ``tmz.core.prompt``) is sent as is, so the
model sees exactly its training prompt; nothing is looked up in a phrasebook and no script is converted.
The scores are ``tmz.core.scoring``'s, the same report training-time evaluation writes.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import Field
from rich.progress import track

from tmz.core.dataset import Example, read_split
from tmz.core.kinds.base import Record
from tmz.core.manifest import DatasetManifest, load_manifest, manifest_hash
from tmz.core.registry import Registry
from tmz.core.scoring import Modality, ScoreReport, score
from tmz.runtime.image import load_image
from tmz.runtime.translation import DEFAULT_MAX_TOKENS, GREEDY, Sampling
from tmz.runtime.translator import Translator


class Prediction(Record):
    """What the bundle answered to one row."""

    id: str
    direction: str
    modality: Modality
    reference: str
    prediction: str


class BundleEvaluation(Record):
    """The report of ``tmz eval``: which bundle, on which dataset split, its scores and every answer."""

    bundle: str = Field(description="path of the bundle file")
    bundle_sha256: str
    dataset: str = Field(description="path of the dataset directory")
    dataset_manifest_sha256: str
    dataset_name: str
    split: str
    rows: int = Field(description="rows scored")
    sampling: Sampling
    max_tokens: int
    scores: ScoreReport
    predictions: list[Prediction]


def first_rows(examples: list[Example], limit: int | None) -> list[Example]:
    """The first ``limit`` examples of each (direction, modality), in dataset order (all when None)."""
    if limit is None:
        return examples
    seen: Counter[tuple[str, str]] = Counter()
    kept = []
    for ex in examples:
        key = (ex.direction, ex.modality)
        if seen[key] < limit:
            seen[key] += 1
            kept.append(ex)
    return kept


def user_turn(example: Example, dataset: Path) -> dict[str, Any]:
    """The example's user turn as LiteRT-LM takes it, the image part carrying the row's image."""
    turn = example.messages[0].model_dump(exclude_none=True)
    if example.image:
        png, _ = load_image(dataset / example.image)
        blob = {"type": "image", "blob": base64.b64encode(png).decode("ascii")}
        turn["content"] = [blob if part["type"] == "image" else part for part in turn["content"]]
    return turn


def evaluate(
    bundle: str | os.PathLike[str] | Translator,
    data: str | os.PathLike[str],
    *,
    split: str = "test",
    limit: int | None = None,
    sampling: Sampling = GREEDY,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    registry: Registry | None = None,
) -> BundleEvaluation:
    """Score ``bundle`` on the split ``split`` of the dataset ``data`` (chrF++, BLEU, exact match; CER for
    image rows), overall and by direction, script, dialect and modality, with every prediction.

    ``limit`` takes the first rows of each (direction, modality). ``registry``: the languages and backends
    (default: the installed plugins'; unused when ``bundle`` is already a Translator).
    """
    data = Path(data)
    manifest = load_manifest(data, expect_kind=DatasetManifest)
    examples = first_rows(read_split(data, split), limit)
    with contextlib.ExitStack() as stack:
        translator = (
            bundle
            if isinstance(bundle, Translator)
            else stack.enter_context(Translator(bundle, sampling=sampling, registry=registry))
        )
        hyps = [
            translator.complete(user_turn(ex, data), sampling=sampling, max_tokens=max_tokens)
            for ex in track(examples, description=f"evaluating {translator.bundle.path.name}", transient=True)
        ]
    return BundleEvaluation(
        bundle=str(translator.bundle.path),
        bundle_sha256=translator.bundle.sha256,
        dataset=str(data.resolve()),
        dataset_manifest_sha256=manifest_hash(data),
        dataset_name=manifest.name,
        split=split,
        rows=len(examples),
        sampling=sampling,
        max_tokens=max_tokens,
        scores=score(examples, hyps),
        predictions=[
            Prediction(
                id=ex.id,
                direction=ex.direction,
                modality=ex.modality,
                reference=ex.target_text,
                prediction=hyp,
            )
            for ex, hyp in zip(examples, hyps, strict=True)
        ],  # fmt: skip
    )
