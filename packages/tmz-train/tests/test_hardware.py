"""`Hardware.detect` without CUDA (README "CPU training uses plain fp32 LoRA"; tmz-train README "CPU fp32 LoRA
with AdamW, and logs it"): what it picks and the warning it logs. CUDA is hidden, so this holds on a GPU too."""

from __future__ import annotations

import logging

import pytest
import torch

from tmz.core.errors import ConfigError
from tmz.train import model
from tmz.train.config import TrainingSettings
from tmz.train.model import Hardware


@pytest.fixture(autouse=True)
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def detect(caplog, settings: TrainingSettings, quantization: str = "auto") -> tuple[Hardware, list[str]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tmz.train"):
        hw = Hardware.detect(settings, quantization)
    return hw, [r.getMessage() for r in caplog.records if r.name == "tmz.train"]


def test_default_settings_train_plain_fp32_lora_with_adamw_and_say_so(caplog):
    hw, lines = detect(caplog, TrainingSettings())  # optim paged_adamw_8bit, precision auto
    assert hw == Hardware("cpu", "none", "fp32", "adamw_torch")
    assert hw.torch_dtype is torch.float32
    assert hw.quantization_config() is None
    assert lines == ["no CUDA device: training plain LoRA in fp32 on CPU (adamw_torch)"]
    record = hw.record()
    assert (record.device, record.quantization, record.precision, record.optim) == (
        "cpu", "none", "fp32", "adamw_torch"
    )  # fmt: skip
    assert record.bitsandbytes is None and record.compute_dtype is None


def test_cpu_ignores_bf16_and_liger_and_keeps_an_optimizer_that_needs_no_bitsandbytes(caplog):
    settings = TrainingSettings(precision="bf16", liger_kernel=True, optim="adamw_torch_fused")
    hw, lines = detect(caplog, settings)
    assert (hw.precision, hw.optim, hw.liger_kernel) == ("fp32", "adamw_torch_fused", False)
    assert lines == [
        "no CUDA device: training plain LoRA in fp32 on CPU (adamw_torch_fused, no Liger kernels)"
    ]


@pytest.mark.parametrize(("native", "compute"), [(True, "bfloat16"), (False, "float32")])
def test_nf4_on_cpu_is_qlora_with_bf16_compute_only_where_the_cpu_has_it(
    caplog, monkeypatch, native, compute
):
    monkeypatch.setattr(model, "cpu_bf16", lambda: native)
    monkeypatch.setattr(model, "bitsandbytes_version", lambda why: "0.0-test")
    hw, lines = detect(caplog, TrainingSettings(), quantization="nf4")
    assert hw == Hardware(
        "cpu", "nf4", "fp32", "paged_adamw_8bit", compute_dtype=compute, bitsandbytes="0.0-test"
    )
    assert lines == [
        f"no CUDA device: training QLoRA (NF4 base, {compute} compute) on CPU (paged_adamw_8bit)"
    ]
    config = hw.quantization_config()
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant
    assert config.bnb_4bit_compute_dtype == getattr(torch, compute)
    assert config.llm_int8_skip_modules is None  # transformers' default: the output head
    skip = (r".*\.altup", "lm_head")  # a backend's quantization_skip_modules (Gemma 3n's)
    assert hw.quantization_config(skip).llm_int8_skip_modules == list(skip)


def test_nf4_without_bitsandbytes_names_the_extra(monkeypatch):
    monkeypatch.setattr(model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"tmz-train\[qlora\].*lora.quantization = \"none\""):
        Hardware.detect(TrainingSettings(), "nf4")
