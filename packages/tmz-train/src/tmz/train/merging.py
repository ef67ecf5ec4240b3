"""Merging a LoRA adapter into its base: a plain checkpoint for the exporter (docs/contracts.md, "model").

The base is reloaded unquantized (fp32, or bf16 on request), the adapter applied and merged, the embeddings
reconciled to the backend's vocabulary size, and everything saved as safetensors with the tokenizer (or
processor), ``tokenizer.model`` and the chat template. MediaPipe cannot load Gemma 3 LoRA adapters on device,
so this step always comes before conversion.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from pydantic import ValidationError

from tmz.core.atomic import atomic_directory
from tmz.core.errors import TmzError
from tmz.core.kinds.model import Merged, ModelResults, ModelSettings, Vocabulary
from tmz.core.manifest import (
    AdapterManifest,
    ModelManifest,
    Producer,
    list_files,
    load_manifest,
    parent_ref,
    write_manifest,
)
from tmz.core.plugins import get_registry
from tmz.core.registry import ModelBackend
from tmz.train.config import TrainConfig
from tmz.train.model import (
    load_model,
    load_processing,
    prepare_for_generation,
    save_processing,
    tokenizer_of,
)
from tmz.train.tiny import TOKENIZER_FILE

log = logging.getLogger("tmz.train")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


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


def load_adapter(
    adapter: Path, manifest: AdapterManifest, backend: ModelBackend, dtype: torch.dtype = torch.float32
) -> PeftModel:
    """The unquantized base with the adapter applied (not merged)."""
    base = load_model(base_source(adapter, manifest), backend, dtype=dtype)
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


def merge(adapter: str | Path, out: str | Path, *, dtype: str | None = None) -> ModelManifest:
    """Merge an adapter artifact into its base and write a model artifact (kind "model") to ``out``."""
    adapter = Path(adapter)
    manifest: AdapterManifest = load_manifest(adapter, expect_kind="adapter")
    backend = get_registry().backend(manifest.backend)
    dtype = dtype or _trained_config(adapter, manifest).merge.dtype
    if dtype not in DTYPES:
        raise MergeError(f"merge dtype {dtype!r} is not one of {sorted(DTYPES)}")
    processing = load_processing(str(adapter), backend.vision)
    model = load_adapter(adapter, manifest, backend, DTYPES[dtype]).merge_and_unload()
    prepare_for_generation(model)
    vocab = reconcile_vocab(model, tokenizer_of(processing), backend.vocab_size)
    trained = manifest.settings
    settings = ModelSettings(
        merged=Merged(
            dtype=dtype, base=trained.base, vocab=vocab, lora=trained.lora, dialect_mode=trained.dialect_mode
        ),
        image_normalisation=trained.image_normalisation,
    )
    with atomic_directory(out) as tmp:
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
            results=ModelResults(eval=manifest.results.eval),
        )
        write_manifest(result, tmp)
    return result
