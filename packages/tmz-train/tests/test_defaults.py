"""`TrainConfig()` defaults are the seed guide's (../shared/seeds/000_*.txt, section 5 table 3 "QLoRA
Configuration Parameters (`LoraConfig`)" and section 6 table 4 "Key `TrainingArguments`"), field by field;
where tmz picks one value of a range, or differs, the comment says which and why."""

from __future__ import annotations

from pathlib import Path

from tmz.core.plugins import get_registry
from tmz.train import TrainConfig, load_config
from tmz.train.sft import lora_config

CONFIGS = Path(__file__).resolve().parents[3] / "examples" / "configs"


def test_lora_defaults_are_table_3():
    lora = TrainConfig().lora
    assert lora.r == 16  # "16 (try 8, 32, 64)"
    assert lora.alpha == 32  # "16 or 32 (often r or 2*r)": 2*r, as the guide's LoraConfig example
    assert lora.dropout == 0.05  # "0.05 or 0.1": the example's 0.05
    assert lora.target_modules is None  # the backend's lora_targets: "all-linear" for every built-in Gemma 3
    assert lora_config(TrainConfig(), get_registry().backend("gemma3-1b-text")).target_modules == "all-linear"
    assert lora.bias == "none"
    # "Optional" ["lm_head", "embed_tokens"]; the guide's example leaves it commented out, and so does tmz:
    # training the embeddings is opt-in (merge reconciles the vocabulary when it is used).
    assert lora.modules_to_save == []
    # Not in the table: tmz's choice of base weights; "auto" is QLoRA's NF4 on CUDA (the guide's setting) and
    # plain LoRA on CPU, where the guide gives no recipe.
    assert lora.quantization == "auto"
    peft = lora_config(TrainConfig(), get_registry().backend("tiny"))
    assert peft.task_type == "CAUSAL_LM"  # table 3's task_type, fixed (not a setting)
    assert (peft.r, peft.lora_alpha, peft.lora_dropout, peft.bias) == (16, 32, 0.05, "none")
    assert peft.modules_to_save is None


def test_training_defaults_are_table_4():
    t = TrainConfig().training
    assert t.epochs == 3.0  # num_train_epochs "3-5": the low end
    assert t.max_steps == -1  # "alternative to epochs": off unless set
    assert t.per_device_batch_size == 1  # "1, 2, 4 (VRAM dependent)": the low end, fits any GPU
    assert t.gradient_accumulation_steps == 8  # "4, 8, 16"
    assert t.optim == "paged_adamw_8bit"
    assert t.learning_rate == 2e-4  # "2×10−4 (QLoRA typical)"
    # bf16 / fp16 "True (based on torch_dtype)": "auto" resolves to bf16 where CUDA has it, else fp16
    # (tmz.train.model.Hardware.detect); on CPU it is fp32 (test_hardware.py).
    assert t.precision == "auto"
    assert t.max_length == 1024  # max_seq_length "512, 1024, 2048": the middle
    assert t.packing is True
    assert t.gradient_checkpointing is True
    assert t.lr_scheduler == "cosine"  # one of "constant", "cosine", "linear"
    assert t.warmup_ratio == 0.03  # "0.03 - 0.1": the low end
    # output_dir is not a setting: `tmz train run --out` / finetune(out=) names it.
    assert "output_dir" not in t.model_dump()


def test_fast_recipe_packs_four_sequences_per_step_with_the_same_effective_batch():
    """examples/configs/train-gemma3-1b-fast.toml (README): 4 sequences per device step instead of the guide's
    1, with accumulation halved twice so the effective batch stays the guide's 8; fused AdamW and Liger."""
    fast = load_config(CONFIGS / "train-gemma3-1b-fast.toml").training
    default = TrainConfig().training
    assert fast.per_device_batch_size == 4
    assert (
        fast.per_device_batch_size * fast.gradient_accumulation_steps
        == (default.per_device_batch_size * default.gradient_accumulation_steps)
        == 8
    )
    assert (fast.optim, fast.liger_kernel, fast.packing) == ("adamw_torch_fused", True, True)
    guide = load_config(CONFIGS / "train-gemma3-1b.toml")
    assert guide.lora.target_modules == "all-linear"  # spelled out; the default leaves it to the backend
    same = {"quantization": guide.lora.quantization, "target_modules": "all-linear"}
    assert guide.lora == TrainConfig().lora.model_copy(update=same)
