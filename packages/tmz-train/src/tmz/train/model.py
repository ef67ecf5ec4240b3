"""Loading a backend's base model and its tokenizer or processor, on the hardware at hand.

Real backends load from the Hugging Face hub with ``from_pretrained(model_id, token=$HF_TOKEN)`` and never
``trust_remote_code``; local ones (tiny) from a checkpoint directory. With ``lora.quantization = "nf4"`` the base
is quantized to 4-bit NF4 with double quantization (QLoRA, bitsandbytes, on CUDA and on CPU alike); ``auto``
(the default) does that on CUDA and trains plain fp32 LoRA on CPU.
"""

from __future__ import annotations

import importlib.metadata
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

from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.errors import ConfigError
from tmz.core.kinds.adapter import Hardware as HardwareRecord
from tmz.core.kinds.base import BaseRef
from tmz.core.manifest import MANIFEST_NAME, load_manifest, manifest_hash
from tmz.core.registry import ModelBackend
from tmz.train.chat import CHAT_TEMPLATE_FILE
from tmz.train.config import TrainingSettings
from tmz.train.tiny import TOKENIZER_FILE, set_vocab_file

log = logging.getLogger("tmz.train")


def bitsandbytes_version(why: str) -> str:
    """The installed bitsandbytes' version; a ConfigError naming the extra to install (``why``: who asks)."""
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            f"{why} needs bitsandbytes: pip install 'tmz-train[qlora]' (Linux), or set lora.quantization = \"none\""
        )
    return importlib.metadata.version("bitsandbytes")


def cpu_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX); elsewhere bf16 is emulated."""
    return any(
        getattr(torch.cpu, f"_is_{name}_supported", lambda: False)() for name in ("avx512_bf16", "amx_tile")
    )


@dataclass(frozen=True)
class Hardware:
    """How this run trains: device, 4-bit quantization (and its compute dtype), trainer precision, optimizer,
    Liger kernels, and the bitsandbytes version when it quantizes."""

    device: str
    quantization: str
    precision: str
    optim: str
    liger_kernel: bool = False
    compute_dtype: str | None = None
    bitsandbytes: str | None = None

    @classmethod
    def detect(cls, settings: TrainingSettings, quantization: str = "auto") -> Hardware:
        """Resolve ``lora.quantization`` and ``training`` against this machine (``auto``: nf4 on CUDA only)."""
        cuda = torch.cuda.is_available()
        quant = ("nf4" if cuda else "none") if quantization == "auto" else quantization
        bnb = bitsandbytes_version('lora.quantization = "nf4" (QLoRA)') if quant == "nf4" else None
        if not cuda:
            optim = settings.optim if quant == "nf4" or "8bit" not in settings.optim else "adamw_torch"
            compute = BF16_OR_FP32[cpu_bf16()] if quant == "nf4" else None
            log.warning(
                "no CUDA device: training %s on CPU (%s%s)",
                f"QLoRA (NF4 base, {compute} compute)" if compute else "plain LoRA in fp32",
                optim, ", no Liger kernels" if settings.liger_kernel else "",
            )  # fmt: skip
            return cls("cpu", quant, "fp32", optim, compute_dtype=compute, bitsandbytes=bnb)
        if settings.liger_kernel and importlib.util.find_spec("liger_kernel") is None:
            raise ConfigError(
                "training.liger_kernel = true needs the liger-kernel package: pip install 'tmz-train[fast]', "
                "or set training.liger_kernel = false"
            )
        precision = settings.precision
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        compute = (
            {"bf16": "bfloat16", "fp16": "float16"}.get(precision, "float32") if quant == "nf4" else None
        )
        return cls("cuda", quant, precision, settings.optim, settings.liger_kernel, compute, bnb)

    @property
    def torch_dtype(self) -> torch.dtype:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision, torch.float32)

    def quantization_config(self, skip: tuple[str, ...] = ()) -> transformers.BitsAndBytesConfig | None:
        """QLoRA's 4-bit NF4 with double quantization, the modules ``skip`` left unquantized (None: the base is
        not quantized)."""
        if self.quantization != "nf4":
            return None
        return nf4_config(self.compute_dtype or "float32", skip)

    def record(self) -> HardwareRecord:
        """What the adapter manifest records (``settings.hardware``)."""
        return HardwareRecord(device=self.device, quantization=self.quantization, precision=self.precision,
                              optim=self.optim, liger_kernel=self.liger_kernel, compute_dtype=self.compute_dtype,
                              bitsandbytes=self.bitsandbytes)  # fmt: skip


#: The compute dtype of NF4 on CPU: bf16 where the CPU has it natively, else fp32.
BF16_OR_FP32 = {True: "bfloat16", False: "float32"}


def nf4_config(compute_dtype: str, skip: tuple[str, ...] = ()) -> transformers.BitsAndBytesConfig:
    """4-bit NF4, double quantization, matmuls in ``compute_dtype`` (a torch dtype name); the modules ``skip`` (a
    backend's ``quantization_skip_modules``, which replace transformers' default, the output head) unquantized."""
    return transformers.BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=getattr(torch, compute_dtype),
        llm_int8_skip_modules=list(skip) or None,
    )


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


def load_processing(source: str, vision: bool, chat: ChatFormat = GEMMA3) -> Any:
    """The tokenizer (text) or processor (vision) of a checkpoint, with the chat template of ``chat`` (its
    backend's ``chat_format``)."""
    loader = AutoProcessor if vision else AutoTokenizer
    processing = loader.from_pretrained(source, **_hub_kwargs())
    processing.chat_template = chat.template
    tokenizer = processing.tokenizer if vision else processing
    tokenizer.chat_template = chat.template
    tokenizer.padding_side = "left"
    return processing


def tokenizer_of(processing: Any) -> Any:
    return getattr(processing, "tokenizer", processing)


def load_model(
    source: str,
    backend: ModelBackend,
    hardware: Hardware | None = None,
    dtype: torch.dtype = torch.float32,
    quantization: transformers.BitsAndBytesConfig | None = None,
) -> torch.nn.Module:
    """The backend's auto class ``from_pretrained``: 4-bit NF4 when ``hardware`` quantizes (or with the
    ``quantization`` config given), else in ``dtype``. A quantized base loads on CUDA if there is one, else CPU."""
    auto = getattr(transformers, backend.auto_class)
    kwargs: dict[str, Any] = {**_hub_kwargs(), "attn_implementation": "sdpa"}
    skip = backend.quantization_skip_modules
    quantization = quantization or (hardware.quantization_config(skip) if hardware is not None else None)
    kwargs["dtype"] = hardware.torch_dtype if hardware is not None else dtype
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = {"": _quantized_device()}
        return _without_cpu_repacking(auto.from_pretrained(source, **kwargs))
    return auto.from_pretrained(source, **kwargs)


def _without_cpu_repacking(model: torch.nn.Module) -> torch.nn.Module:
    """Keep one NF4 function: bitsandbytes (0.50) repacks a Linear4bit on a CPU with AVX512-BF16 the first time
    it runs in eval mode, with its block scales rounded to bf16 (not what training computes) and failing on
    layers narrower than a quantization block (64 inputs, as in the tiny vision tower)."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
    return model


def _quantized_device() -> Any:
    """Where a bitsandbytes-quantized model lives (quantization happens on load, on this device)."""
    if not torch.cuda.is_available():
        return "cpu"
    from accelerate import PartialState

    return PartialState().local_process_index


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
    (directory / CHAT_TEMPLATE_FILE).write_text(tokenizer_of(processing).chat_template, encoding="utf-8")


def prepare_for_generation(model: torch.nn.Module) -> torch.nn.Module:
    """Gradient checkpointing off and KV cache on (a model still flagged for checkpointing generates garbage)."""
    if getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()
    model.config.use_cache = True
    model.config.get_text_config().use_cache = True
    return model.eval()
