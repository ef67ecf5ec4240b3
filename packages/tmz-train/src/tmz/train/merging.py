"""Merging a LoRA adapter into its base: a plain checkpoint for the exporter (docs/contracts.md, "model").

The base is reloaded unquantized (fp32, or bf16 on request), the adapter applied and merged, the embeddings
reconciled to the backend's vocabulary size, and everything saved as safetensors with the tokenizer (or
processor), ``tokenizer.model`` and the chat template. MediaPipe cannot load Gemma 3 LoRA adapters on device,
so this step always comes before conversion.

An nf4 (QLoRA) adapter was fitted against the NF4-dequantized weights of its base: ``weights="dequantized"``
merges it into exactly those (dequantized to the merge dtype), ``"original"`` into the full-precision originals.
Every merge measures its fidelity to the trained model (:mod:`tmz.train.fidelity`) on the training rows and the
held-out rows of the adapter's dataset and records it in ``results.fidelity``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import transformers
from peft import PeftModel
from pydantic import ValidationError

from tmz.core.atomic import atomic_directory, check_output
from tmz.core.errors import TmzError
from tmz.core.kinds.adapter import Hardware as TrainedOn
from tmz.core.kinds.model import Fidelity, Merged, ModelResults, ModelSettings, Vocabulary
from tmz.core.manifest import (
    AdapterManifest,
    ManifestError,
    ModelManifest,
    Producer,
    find_parent,
    list_files,
    load_manifest,
    parent_ref,
    write_manifest,
)
from tmz.core.plugins import get_registry
from tmz.core.registry import ModelBackend
from tmz.train.config import MergeSettings, TrainConfig
from tmz.train.data import load_dataset_artifact, select_rows
from tmz.train.fidelity import measure
from tmz.train.model import (
    bitsandbytes_version,
    load_model,
    load_processing,
    nf4_config,
    prepare_for_generation,
    save_processing,
    tokenizer_of,
)
from tmz.train.tiny import TOKENIZER_FILE

log = logging.getLogger("tmz.train")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
WEIGHTS = ("original", "dequantized")


class MergeError(TmzError):
    """An adapter cannot be merged into a checkpoint the exporter accepts."""


def base_source(adapter: Path, manifest: AdapterManifest) -> str:
    """The base an adapter was trained on: its bundled copy, a local directory, or a hub id."""
    base = manifest.settings.base
    source = base.source
    if not source:
        raise MergeError(f"{adapter}: adapter manifest has no settings.base.source; re-run the fine-tune")
    if base.local:
        path = Path(source) if Path(source).is_absolute() else adapter / source
        if not (path / "config.json").is_file():
            raise MergeError(f"{adapter}: base model directory {path} is gone; restore it or fine-tune again")
        return str(path)
    return source


def nf4_as_trained(
    trained_on: TrainedOn, adapter: Path, skip: tuple[str, ...] = ()
) -> transformers.BitsAndBytesConfig:
    """The NF4 configuration an nf4 adapter was trained under (its compute dtype from the manifest; ``skip``: its
    backend's ``quantization_skip_modules``)."""
    bitsandbytes_version(f"{adapter}: loading the NF4 base this adapter was trained on")
    compute = trained_on.compute_dtype or {"bf16": "bfloat16", "fp16": "float16"}.get(
        trained_on.precision, "float32"
    )
    return nf4_config(compute, skip)


def load_adapter(
    adapter: Path,
    manifest: AdapterManifest,
    backend: ModelBackend,
    dtype: torch.dtype = torch.float32,
    weights: str = "original",
) -> PeftModel:
    """The base with the adapter applied (not merged): ``weights`` "original" (unquantized, ``dtype``),
    "trained" (as the adapter was trained: NF4 for an nf4 adapter) or "dequantized" (NF4, dequantized to
    ``dtype``)."""
    source = base_source(adapter, manifest)
    nf4 = manifest.settings.hardware.quantization == "nf4" and weights != "original"
    quantization = (
        nf4_as_trained(manifest.settings.hardware, adapter, backend.quantization_skip_modules)
        if nf4
        else None
    )
    base = load_model(source, backend, dtype=dtype, quantization=quantization)
    if nf4 and weights == "dequantized":
        base = base.dequantize(dtype=dtype).to(dtype)
    return PeftModel.from_pretrained(base, str(adapter))


def reconcile_vocab(model: torch.nn.Module, tokenizer: Any, vocab_size: int) -> Vocabulary:
    """Resize input/output embeddings to ``vocab_size`` (the on-device model's) when training changed them."""
    rows = model.get_input_embeddings().weight.shape[0]
    beyond = len(tokenizer) - vocab_size
    if beyond > 0:
        log.warning(
            "tokenizer has %d tokens beyond the model's %d rows: the device cannot emit them", beyond, rows
        )
    if rows != vocab_size:
        log.warning("embeddings have %d rows, backend expects %d: resizing", rows, vocab_size)
        model.resize_token_embeddings(vocab_size)
        model.config.get_text_config().vocab_size = vocab_size
    return Vocabulary(embedding_rows=rows, vocab_size=vocab_size, resized=rows != vocab_size,
                      tokenizer_size=len(tokenizer))  # fmt: skip


def _trained_config(adapter: Path, manifest: AdapterManifest) -> TrainConfig:
    """The configuration the adapter was trained with (``settings.config``)."""
    try:
        return TrainConfig.model_validate(manifest.settings.config)
    except ValidationError as e:
        raise MergeError(f"{adapter}: settings.config is not a training configuration this tmz-train reads ({e}); "
                         "pass the merge dtype explicitly or fine-tune again") from e  # fmt: skip


def _fidelity_rows(adapter: Path, manifest: AdapterManifest, cfg: TrainConfig, vision: bool,
                   dataset: str | Path | None) -> tuple[Path, dict[str, tuple[Any, bool]]]:  # fmt: skip
    """The adapter's dataset (``dataset``, else its parent) and the rows fidelity is measured on: up to
    ``merge.fidelity_prompts`` of the training split and of the held-out ``eval.split``."""
    try:
        path = Path(dataset) if dataset is not None else find_parent(manifest, adapter)
    except ManifestError as e:
        raise MergeError(f"{e}. Merge measures its fidelity on that dataset: pass dataset= (--dataset DIR), "
                         "or set merge.fidelity_prompts = 0 to skip the measurement") from e  # fmt: skip
    data = load_dataset_artifact(path)
    n = cfg.merge.fidelity_prompts
    splits = {}
    for split, held_out in ((cfg.data.train_split, False), (cfg.eval.split, True)):
        if split in data.splits and split not in splits:
            rows = select_rows(data.split(split), cfg.data, vision)
            splits[split] = (rows.select(range(min(n, len(rows)))), held_out)
    return data.path, splits


def _measure(adapter: Path, manifest: AdapterManifest, backend: ModelBackend, merged: torch.nn.Module,
             processing: Any, rows: tuple[Path, dict[str, tuple[Any, bool]]], weights: str,
             settings: MergeSettings) -> Fidelity:  # fmt: skip
    """The merged model against the trained one (base as trained, adapter unmerged), on ``rows``."""
    nf4 = manifest.settings.hardware.quantization == "nf4"
    trained = load_adapter(adapter, manifest, backend, weights="trained")
    root, splits = rows
    fidelity = measure(trained, merged, processing, splits, root, weights=weights,
                       reference="nf4 base + adapter" if nf4 else "base + adapter",
                       max_new_tokens=settings.fidelity_max_new_tokens, chat=backend.chat_format)  # fmt: skip
    log.warning("merge fidelity (%s weights vs %s): %d of %d greedy answers identical, |delta log p| max %.4f "
                "mean %.4f", weights, fidelity.reference, fidelity.exact, fidelity.prompts,
                fidelity.max_abs_delta, fidelity.mean_abs_delta)  # fmt: skip
    return fidelity


def merge(
    adapter: str | Path,
    out: str | Path,
    *,
    dtype: str | None = None,
    base: str | None = None,
    dataset: str | Path | None = None,
    overwrite: bool = False,
) -> ModelManifest:
    """Merge an adapter artifact into its base and write a model artifact (kind "model") to ``out`` (which
    replaces only a model tmz wrote, unless ``overwrite``; never the adapter).

    ``base``: the weights to merge into, "original" or "dequantized" (default ``merge.base``; the same weights
    for an adapter trained without quantization). ``dataset``: where to measure fidelity (default: the adapter's
    parent dataset).
    """
    adapter = Path(adapter)
    manifest: AdapterManifest = load_manifest(adapter, expect_kind="adapter")
    inputs = [adapter, *([base_source(adapter, manifest)] if manifest.settings.base.local else []),
              *([dataset] if dataset is not None else [])]  # fmt: skip
    check_output(out, "model", overwrite=overwrite, inputs=inputs)
    backend = get_registry().backend(manifest.backend)
    cfg = _trained_config(adapter, manifest)
    dtype = dtype or cfg.merge.dtype
    if dtype not in DTYPES:
        raise MergeError(f"merge dtype {dtype!r} is not one of {sorted(DTYPES)}")
    weights = base or cfg.merge.base
    if weights not in WEIGHTS:
        raise MergeError(f"merge base {weights!r} is not one of {list(WEIGHTS)}")
    trained = manifest.settings
    nf4 = trained.hardware.quantization == "nf4"
    weights = weights if nf4 else "original"  # trained against the original weights: the two are one
    rows = (
        _fidelity_rows(adapter, manifest, cfg, backend.vision, dataset)
        if cfg.merge.fidelity_prompts
        else None
    )
    processing = load_processing(str(adapter), backend.vision, backend.chat_format)
    model = load_adapter(adapter, manifest, backend, DTYPES[dtype], weights).merge_and_unload()
    prepare_for_generation(model)
    vocab = reconcile_vocab(model, tokenizer_of(processing), backend.vocab_size)
    fidelity = None
    if rows is not None:
        fidelity = _measure(adapter, manifest, backend, model, processing, rows, weights, cfg.merge)
    settings = ModelSettings(
        merged=Merged(
            dtype=dtype,
            base=trained.base,
            vocab=vocab,
            lora=trained.lora,
            dialect_mode=trained.dialect_mode,
            weights=weights,
            quantization=trained.hardware.quantization,
        ),  # fmt: skip
        image_normalisation=trained.image_normalisation,
    )
    with atomic_directory(out, "model", overwrite=overwrite, inputs=inputs) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        save_processing(processing, tmp, adapter / TOKENIZER_FILE)
        stray = [p.name for p in tmp.iterdir() if p.suffix in (".bin", ".pt", ".pth")]
        if stray:
            raise MergeError(f"merged checkpoint holds non-safetensors weights {stray}; refusing to write it")
        result = ModelManifest(
            name=Path(out).name,
            producer=Producer.of("tmz-train"),
            parent=parent_ref(adapter, out),
            backend=backend.name,
            files=list_files(tmp),
            **manifest.coverage(),
            settings=settings,
            results=ModelResults(eval=manifest.results.eval, fidelity=fidelity),
        )
        write_manifest(result, tmp)
    return result
