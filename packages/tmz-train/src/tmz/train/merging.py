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

from tmz.core.atomic import atomic_directory
from tmz.core.errors import TmzError
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
    base = manifest.settings.get("base") or {}
    source = base.get("source")
    if not source:
        raise MergeError(f"{adapter}: adapter manifest has no settings.base.source; re-run the fine-tune")
    if base.get("local"):
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


def reconcile_vocab(model: torch.nn.Module, tokenizer: Any, vocab_size: int) -> dict[str, Any]:
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
    return {"embedding_rows": rows, "vocab_size": vocab_size, "resized": rows != vocab_size,
            "tokenizer_size": len(tokenizer)}  # fmt: skip


def merge(adapter: str | Path, out: str | Path, *, dtype: str | None = None) -> ModelManifest:
    """Merge an adapter artifact into its base and write a model artifact (kind "model") to ``out``."""
    adapter = Path(adapter)
    manifest: AdapterManifest = load_manifest(adapter, expect_kind="adapter")
    backend = get_registry().backend(manifest.backend)
    dtype = dtype or manifest.settings.get("config", {}).get("merge", {}).get("dtype", "float32")
    if dtype not in DTYPES:
        raise MergeError(f"merge dtype {dtype!r} is not one of {sorted(DTYPES)}")
    processing = load_processing(str(adapter), backend.vision)
    model = load_adapter(adapter, manifest, backend, DTYPES[dtype]).merge_and_unload()
    prepare_for_generation(model)
    vocab = reconcile_vocab(model, tokenizer_of(processing), backend.vocab_size)
    settings: dict[str, Any] = {
        "dtype": dtype,
        "base": manifest.settings.get("base"),
        "vocab": vocab,
        "lora": manifest.settings.get("lora"),
        "dialect_mode": manifest.settings.get("dialect_mode"),
    }
    if "image_normalisation" in manifest.settings:
        settings["image_normalisation"] = manifest.settings["image_normalisation"]
    with atomic_directory(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        save_processing(processing, tmp, adapter / TOKENIZER_FILE)
        stray = [p.name for p in tmp.iterdir() if p.suffix in (".bin", ".pt", ".pth")]
        if stray:
            raise MergeError(f"merged checkpoint holds non-safetensors weights {stray}; refusing to write it")
        result = ModelManifest(
            name=Path(out).name,
            producer=Producer.of("tmz-train"),
            parent=parent_ref(adapter),
            backend=backend.name,
            files=list_files(tmp),
            **manifest.coverage(),
            settings=settings,
            results={k: v for k, v in manifest.results.items() if k == "eval"},
        )
        write_manifest(result, tmp)
    return result
