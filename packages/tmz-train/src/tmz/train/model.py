"""Loading a backend's base model and its tokenizer or processor, on the hardware at hand.

Real backends load from the Hugging Face hub with ``from_pretrained(model_id, token=$HF_TOKEN)`` and never
``trust_remote_code``; local ones (tiny) from a checkpoint directory. On CUDA the base is quantized to 4-bit
NF4 (QLoRA); on CPU, where bitsandbytes 4-bit is unavailable, it trains as plain fp32 LoRA.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoProcessor, AutoTokenizer

from tmz.core.errors import ConfigError
from tmz.core.kinds.adapter import Hardware as HardwareRecord
from tmz.core.kinds.base import BaseRef
from tmz.core.manifest import MANIFEST_NAME, load_manifest, manifest_hash
from tmz.core.registry import ModelBackend
from tmz.train.chat import CHAT_TEMPLATE, CHAT_TEMPLATE_FILE
from tmz.train.config import TrainingSettings
from tmz.train.tiny import TOKENIZER_FILE, set_vocab_file

log = logging.getLogger("tmz.train")


@dataclass(frozen=True)
class Hardware:
    """How this run trains: device, 4-bit quantization, compute precision, optimizer and Liger kernels."""

    device: str
    quantization: str
    precision: str
    optim: str
    liger_kernel: bool = False

    @classmethod
    def detect(cls, settings: TrainingSettings) -> Hardware:
        if not torch.cuda.is_available():
            log.warning(
                "no CUDA device: training plain LoRA in fp32 on CPU (no 4-bit quantization, adamw_torch%s)",
                ", no Liger kernels" if settings.liger_kernel else "",
            )
            return cls("cpu", "none", "fp32", "adamw_torch" if "8bit" in settings.optim else settings.optim)
        if settings.liger_kernel and importlib.util.find_spec("liger_kernel") is None:
            raise ConfigError(
                "training.liger_kernel = true needs the liger-kernel package: pip install 'tmz-train[fast]', "
                "or set training.liger_kernel = false"
            )
        precision = settings.precision
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return cls("cuda", settings.quantization, precision, settings.optim, settings.liger_kernel)

    @property
    def torch_dtype(self) -> torch.dtype:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)

    def record(self) -> HardwareRecord:
        """What the adapter manifest records (``settings.hardware``)."""
        return HardwareRecord(device=self.device, quantization=self.quantization, precision=self.precision,
                              optim=self.optim, liger_kernel=self.liger_kernel)  # fmt: skip


@dataclass(frozen=True)
class BaseCheckpoint:
    """Where a fine-tune's base comes from: a local checkpoint directory or a hub id."""

    source: str
    local: bool
    manifest_sha256: str | None = None

    @classmethod
    def resolve(cls, backend: ModelBackend, base: str | Path | None) -> BaseCheckpoint:
        """``base`` (a directory or hub id) or the backend's model id; local directories must match the backend."""
        if base is None:
            if backend.local:
                raise ConfigError(
                    f"backend {backend.name!r} is built locally: pass base=<dir from `tmz train init-tiny`>"
                )
            return cls(backend.model_id, local=False)
        path = Path(base)
        if not path.exists():
            if str(base).startswith((".", "/")) or backend.local:
                raise ConfigError(f"{base}: base model directory not found")
            return cls(str(base), local=False)
        if (path / MANIFEST_NAME).is_file():
            manifest = load_manifest(path, expect_kind="model")
            if manifest.backend != backend.name:
                raise ConfigError(
                    f"{path}: base model is for backend {manifest.backend!r}, not {backend.name!r}; "
                    f"pass --backend {manifest.backend} or another base"
                )
            return cls(str(path.resolve()), local=True, manifest_sha256=manifest_hash(path))
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path}: not a Hugging Face checkpoint (no config.json)")
        return cls(str(path.resolve()), local=True)

    def ref(self, source: str | None = None) -> BaseRef:
        """What the adapter manifest records (``settings.base``); ``source``: where the adapter keeps its copy."""
        return BaseRef(source=source or self.source, local=self.local, manifest_sha256=self.manifest_sha256)


def _hub_kwargs() -> dict[str, Any]:
    return {"token": os.environ.get("HF_TOKEN"), "trust_remote_code": False}


def load_processing(source: str, vision: bool) -> Any:
    """The tokenizer (text) or processor (vision) of a checkpoint, with tmz's chat template."""
    loader = AutoProcessor if vision else AutoTokenizer
    processing = loader.from_pretrained(source, **_hub_kwargs())
    processing.chat_template = CHAT_TEMPLATE
    tokenizer = processing.tokenizer if vision else processing
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.padding_side = "left"
    return processing


def tokenizer_of(processing: Any) -> Any:
    return getattr(processing, "tokenizer", processing)


def load_model(
    source: str, backend: ModelBackend, hardware: Hardware | None = None, dtype: torch.dtype = torch.float32
) -> torch.nn.Module:
    """The backend's auto class ``from_pretrained``: 4-bit NF4 when ``hardware`` quantizes, else ``dtype``."""
    auto = getattr(transformers, backend.auto_class)
    kwargs: dict[str, Any] = {**_hub_kwargs(), "attn_implementation": "sdpa"}
    if hardware is not None and hardware.quantization == "nf4":
        kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=hardware.torch_dtype,
            bnb_4bit_quant_storage=hardware.torch_dtype,
        )
        kwargs["dtype"] = hardware.torch_dtype
    else:
        kwargs["dtype"] = hardware.torch_dtype if hardware is not None else dtype
    return auto.from_pretrained(source, **kwargs)


def tokenizer_model_file(source: str, local: bool) -> Path:
    """The SentencePiece ``tokenizer.model`` of a base (downloaded from the hub for real backends)."""
    if local:
        path = Path(source) / TOKENIZER_FILE
        if not path.is_file():
            raise ConfigError(f"{source}: base has no {TOKENIZER_FILE}; the on-device tokenizer needs it")
        return path
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(source, TOKENIZER_FILE, token=os.environ.get("HF_TOKEN")))


def save_processing(processing: Any, directory: Path, sentencepiece_model: Path) -> None:
    """Tokenizer or processor, ``tokenizer.model`` (named by ``vocab_file``) and the chat template."""
    processing.save_pretrained(directory)
    if (directory / TOKENIZER_FILE).resolve() != sentencepiece_model.resolve():
        shutil.copyfile(sentencepiece_model, directory / TOKENIZER_FILE)
    set_vocab_file(directory)
    (directory / CHAT_TEMPLATE_FILE).write_text(CHAT_TEMPLATE, encoding="utf-8")


def prepare_for_generation(model: torch.nn.Module) -> torch.nn.Module:
    """Gradient checkpointing off and KV cache on (a model still flagged for checkpointing generates garbage)."""
    if getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()
    model.config.use_cache = True
    model.config.get_text_config().use_cache = True
    return model.eval()
