"""Scoring a bundle on a tmz dataset's test split, through the bundle itself on LiteRT-LM.

Each row's user turn (the ``messages`` tmz-data rendered with ``tmz.core.prompt``) is sent as is, so the
model sees exactly its training prompt; nothing is looked up in a phrasebook and no script is converted.
chrF++ and BLEU (sacrebleu) per direction; CER (jiwer) too for image rows.
"""

from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import jiwer
from rich.progress import track
from sacrebleu.metrics import BLEU, CHRF

from tmz.core.errors import DataError
from tmz.core.manifest import DatasetManifest, load_manifest, manifest_hash
from tmz.runtime.image import load_image
from tmz.runtime.translation import GREEDY, Sampling
from tmz.runtime.translator import DEFAULT_MAX_TOKENS, Translator


def read_split(data: Path, split: str) -> list[dict[str, Any]]:
    """Rows of ``jsonl/{split}.jsonl`` in a dataset directory (see docs/contracts.md, dataset)."""
    path = data / "jsonl" / f"{split}.jsonl"
    if not path.is_file():
        raise DataError(f"{path}: the dataset has no {split!r} split; pass --split with one of its splits")
    rows = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{line_no}: broken JSON line ({e}); rebuild the dataset") from None
    return rows


def _user_turn(row: dict[str, Any], data: Path) -> dict[str, Any]:
    turn = dict(row["messages"][0])
    if row.get("image"):
        png, _ = load_image(data / row["image"])
        content = [dict(part) for part in turn["content"]]
        content[0] = {"type": "image", "blob": base64.b64encode(png).decode("ascii")}
        turn["content"] = content
    return turn


def evaluate(
    bundle: str | os.PathLike[str] | Translator,
    data: str | os.PathLike[str],
    *,
    split: str = "test",
    limit: int | None = None,
    sampling: Sampling = GREEDY,
    max_tokens: int = DEFAULT_MAX_TOKENS,
) -> dict[str, Any]:
    """chrF++ and BLEU per direction (CER too for image rows) of ``bundle`` on the dataset ``data``.

    ``limit`` takes the first rows of each direction. Returns a JSON-ready report with per-row predictions.
    """
    data = Path(data)
    manifest = load_manifest(data, expect_kind=DatasetManifest)
    translator = bundle if isinstance(bundle, Translator) else Translator(bundle, sampling=sampling)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read_split(data, split):
        key = f"{row['direction']} (image)" if row.get("image") else row["direction"]
        if limit is None or len(groups[key]) < limit:
            groups[key].append(row)
    total = sum(map(len, groups.values()))
    report: dict[str, Any] = {}
    predictions = []
    rows = [(key, row) for key, rs in sorted(groups.items()) for row in rs]
    hyps: dict[str, list[str]] = defaultdict(list)
    for key, row in track(rows, description=f"evaluating {translator.bundle.path.name}", transient=True):
        hyp = translator.complete(_user_turn(row, data), sampling=sampling, max_tokens=max_tokens)
        hyps[key].append(hyp)
        predictions.append(
            {"id": row["id"], "direction": key, "reference": row["target_text"], "prediction": hyp}
        )
    for key, rs in sorted(groups.items()):
        refs = [r["target_text"] for r in rs]
        scores: dict[str, Any] = {
            "rows": len(rs),
            "chrf++": CHRF(word_order=2).corpus_score(hyps[key], [refs]).score,
            "bleu": BLEU().corpus_score(hyps[key], [refs]).score,
            "exact": sum(h.strip() == r.strip() for h, r in zip(hyps[key], refs, strict=True)) / len(rs),
        }
        if key.endswith("(image)"):
            scores["cer"] = jiwer.cer(refs, hyps[key])
        report[key] = scores
    return {
        "bundle": str(translator.bundle.path),
        "bundle_sha256": translator.bundle.sha256,
        "dataset": str(data.resolve()),
        "dataset_manifest_sha256": manifest_hash(data),
        "dataset_name": manifest.name,
        "split": split,
        "rows": total,
        "sampling": vars(sampling),
        "max_tokens": max_tokens,
        "directions": report,
        "predictions": predictions,
    }
