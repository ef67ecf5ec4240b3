"""Evaluation: batched greedy generation with the tmz-v1 prompt, scored by :mod:`tmz.core.scoring` (chrF++ and
BLEU per direction, target script, dialect and modality; the character error rate of image rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset
from rich.console import Console
from rich.table import Table
from tqdm.auto import tqdm

from tmz.core.atomic import write_text_atomic
from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.errors import ConfigError
from tmz.core.manifest import load_manifest
from tmz.core.plugins import get_registry
from tmz.core.scoring import Evaluation, ScoreReport, format_report, score
from tmz.train.chat import stop_ids
from tmz.train.config import EvalSettings, Overrides, TrainConfig, load_config
from tmz.train.data import as_examples, load_dataset_artifact, select_rows
from tmz.train.model import load_model, load_processing, prepare_for_generation, tokenizer_of
from tmz.train.vision import load_image


def generate(
    model: torch.nn.Module, processing: Any, rows: Dataset | list[dict[str, Any]], settings: EvalSettings,
    root: Path | None = None, chat: ChatFormat = GEMMA3,
) -> list[str]:  # fmt: skip
    """Greedy answers to the user turn of each row (``image`` paths are relative to ``root``)."""
    prepare_for_generation(model)
    tok = tokenizer_of(processing)
    stops = stop_ids(tok, chat)
    rows = list(rows)
    device = next(model.parameters()).device
    answers: list[str] = []
    for start in tqdm(range(0, len(rows), settings.batch_size), desc="Generating", unit="batch"):
        batch = rows[start : start + settings.batch_size]
        prompts = [
            tok.apply_chat_template(r["messages"][:1], tokenize=False, add_generation_prompt=True)
            for r in batch
        ]
        if any(r.get("image") for r in batch):
            images = [
                [load_image(str((root or Path()) / r["image"]))] if r.get("image") else [] for r in batch
            ]
            enc = processing(text=prompts, images=images, padding=True, padding_side="left",
                             add_special_tokens=False, return_tensors="pt")  # fmt: skip
            enc.pop("token_type_ids", None)  # causal attention, as on the device
        else:
            enc = tok(
                prompts, padding=True, padding_side="left", add_special_tokens=False, return_tensors="pt"
            )
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=settings.max_new_tokens, do_sample=False,
                                 eos_token_id=stops, pad_token_id=tok.pad_token_id)  # fmt: skip
        for ids in out[:, enc["input_ids"].shape[1] :].tolist():
            cut = next((i for i, t in enumerate(ids) if t in stops), len(ids))
            answers.append(tok.decode(ids[:cut], skip_special_tokens=True).strip())
    return answers


def print_report(report: ScoreReport, console: Console | None = None) -> None:
    """The scores as a table, one line per group (rounded here; the report keeps them unrounded)."""
    table = Table(title="tmz evaluation")
    for col in ("group", "rows", "chrF++", "BLEU", "exact", "CER"):
        table.add_column(col, justify="left" if col == "group" else "right")
    for name, s in format_report(report):
        if s.rows:
            cer = "" if s.cer is None else f"{s.cer:.4f}"
            table.add_row(name, str(s.rows), f"{s.chrf:.2f}", f"{s.bleu:.2f}", f"{s.exact:.2%}", cer)
    (console or Console()).print(table)


def evaluate_rows(
    model: torch.nn.Module,
    processing: Any,
    rows: Dataset,
    settings: EvalSettings,
    root: Path,
    chat: ChatFormat = GEMMA3,
) -> tuple[ScoreReport, list[str]]:
    """Generate for ``rows`` of the dataset at ``root`` (at most ``settings.max_samples``) and score them."""
    if settings.max_samples is not None and len(rows) > settings.max_samples:
        rows = rows.select(range(settings.max_samples))
    hyps = generate(model, processing, rows, settings, root, chat)
    return score(as_examples(rows, str(root)), hyps), hyps


def evaluate(
    model: str | Path,
    dataset: str | Path,
    *,
    split: str | None = None,
    config: TrainConfig | str | Path | None = None,
    overrides: Overrides = None,
    predictions: str | Path | None = None,
) -> Evaluation:
    """Score a merged model (kind "model") or an adapter (kind "adapter") on a dataset split.

    Returns the :class:`~tmz.core.scoring.Evaluation` (split, overall scores and those by direction, script,
    dialect and modality); with ``predictions`` also writes one JSON line per row (id, direction, reference,
    hypothesis).
    """
    cfg = load_config(config, overrides)
    artifact = Path(model)
    manifest = load_manifest(artifact)
    if manifest.kind not in ("model", "adapter"):
        raise ConfigError(f"{artifact}: expected a model or adapter artifact, found kind {manifest.kind!r}")
    backend = get_registry().backend(manifest.backend)
    processing = load_processing(str(artifact), backend.vision, backend.chat_format)
    if manifest.kind == "model":
        net = load_model(str(artifact), backend)
    else:
        from tmz.train.merging import load_adapter

        net = load_adapter(artifact, manifest, backend, weights="trained")
    data = load_dataset_artifact(dataset)
    split = split or cfg.eval.split
    rows = select_rows(data.split(split), cfg.data, backend.vision)
    report, hyps = evaluate_rows(net, processing, rows, cfg.eval, data.path, backend.chat_format)
    if predictions is not None:
        lines = [
            json.dumps(
                {"id": r["id"], "direction": r["direction"], "reference": r["target_text"], "hypothesis": h},
                ensure_ascii=False,
            )  # fmt: skip
            for r, h in zip(rows.select(range(len(hyps))), hyps, strict=True)
        ]
        write_text_atomic(predictions, "\n".join(lines) + "\n")
    return Evaluation(split=split, **report.model_dump())
