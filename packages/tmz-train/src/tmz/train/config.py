"""Training configuration: a TOML file whose defaults come from the seed guide (tables 3 and 4).

Sections mirror peft's and trl's configs: ``[lora]``, ``[training]``, ``[data]``, ``[eval]``, ``[merge]``.
Values are validated (unknown keys and bad types are :class:`~tmz.core.errors.ConfigError` naming the key);
command-line overrides are dotted ``section.key=value`` pairs applied on top of the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tmz.core.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraSettings(_Section):
    """peft ``LoraConfig`` (guide table 3)."""

    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] | None = Field(
        None,
        description='peft target_modules ("all-linear", names or a regex); None: the backend\'s lora_targets '
        '("all-linear" for Gemma 3, the language model\'s projections for plugins such as Gemma 3n and 4)',
    )
    modules_to_save: list[str] = Field(default_factory=list)
    bias: Literal["none", "all", "lora_only"] = "none"
    quantization: Literal["auto", "nf4", "none"] = Field(
        "auto",
        description="the base's weights while training: nf4 (QLoRA: 4-bit NF4, double quantization; needs "
        "bitsandbytes, CPU included), none (plain LoRA), or auto: nf4 on CUDA, none on CPU",
    )


class TrainingSettings(_Section):
    """trl ``SFTConfig`` / transformers ``TrainingArguments`` (guide table 4)."""

    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    per_device_batch_size: int = Field(1, gt=0)
    gradient_accumulation_steps: int = Field(8, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    lr_scheduler: Literal["constant", "constant_with_warmup", "cosine", "linear"] = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_length: int = Field(1024, gt=0)
    packing: bool = True
    gradient_checkpointing: bool = True
    optim: str = Field(
        "paged_adamw_8bit", description="8-bit optimizers fall back to adamw_torch without nf4"
    )
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    liger_kernel: bool = Field(
        False, description="Liger's Triton kernels on CUDA (pip install 'tmz-train[fast]')"
    )
    seed: int = 42
    logging_steps: int = Field(10, gt=0)
    eval_steps: int | None = Field(None, gt=0, description="None: evaluate once per epoch")
    save_steps: int = Field(100, gt=0)
    learned_margin: float | None = Field(
        None,
        gt=0,
        description="stop once every answer token of the training rows leads its runner-up by this many logits "
        "(teacher forced; max_steps is the cap), then check recall of those rows by greedy generation",
    )
    learned_check_steps: int = Field(
        25, gt=0, description="how often (optimizer steps) to measure the margin"
    )
    save_total_limit: int = Field(2, gt=0)
    keep_checkpoints: bool = False


class DataSettings(_Section):
    """Which rows to train on: all dialects jointly (empty lists) or a filter."""

    dialects: list[str] = Field(default_factory=list)
    directions: list[str] = Field(default_factory=list)
    train_split: str = "train"
    eval_split: str | None = "validation"


class EvalSettings(_Section):
    """Greedy generation and metrics after training."""

    split: str = "test"
    batch_size: int = Field(8, gt=0)
    max_new_tokens: int = Field(128, gt=0)
    max_samples: int | None = Field(None, gt=0)
    after_training: bool = True


class MergeSettings(_Section):
    """How ``tmz train merge`` merges, and how much it measures its fidelity to the trained model."""

    dtype: Literal["float32", "bfloat16"] = "float32"
    base: Literal["original", "dequantized"] = Field(
        "dequantized",
        description="nf4 adapters: merge into the NF4 weights they were trained against, dequantized (closest to "
        "the trained model, measured), or into the original weights",
    )
    fidelity_prompts: int = Field(
        16, ge=0, description="rows per split (training, held-out) the merge is checked on; 0: not measured"
    )
    fidelity_max_new_tokens: int = Field(64, gt=0, description="cap of each greedy answer in that check")


class TrainConfig(_Section):
    """The whole configuration; ``model_dump()`` is what goes into the adapter manifest."""

    lora: LoraSettings = Field(default_factory=LoraSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    merge: MergeSettings = Field(default_factory=MergeSettings)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        """``training.quantization`` (tmz-train 0.2) is ``lora.quantization`` now, and old files still load: its
        "nf4" meant NF4 on CUDA and plain LoRA on CPU, which is "auto" now."""
        training = data.get("training") if isinstance(data, dict) else None
        if isinstance(training, dict) and "quantization" in training:
            training = dict(training)
            old = training.pop("quantization")
            lora = dict(data.get("lora") or {})
            lora.setdefault("quantization", "auto" if old == "nf4" else old)
            data = {**data, "training": training, "lora": lora}
        return data

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.training.packing and self.training.max_length < 16:
            raise ValueError("training.max_length must be at least 16 when packing")
        return self


def _errors(e: ValidationError, where: str) -> ConfigError:
    lines = [f"{'.'.join(map(str, err['loc'])) or '(root)'}: {err['msg']}" for err in e.errors()]
    return ConfigError(f"{where}: invalid training configuration:\n  " + "\n  ".join(lines))


def parse_override(item: str) -> tuple[list[str], Any]:
    """``training.max_steps=100`` -> (["training", "max_steps"], 100); values use TOML syntax, else strings."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r}: write it as section.key=value, e.g. training.max_steps=100")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.strip().split("."), value


Overrides = dict[str, Any] | list[str] | None


def load_config(path: str | Path | TrainConfig | None = None, overrides: Overrides = None) -> TrainConfig:
    """Defaults, then the TOML file at ``path`` (or a TrainConfig), then ``overrides`` (dotted keys to values,
    or ``section.key=value`` strings)."""
    data: dict[str, Any] = {}
    where = str(path) if isinstance(path, str | Path) else "configuration"
    if isinstance(path, TrainConfig):
        data = path.model_dump()
    elif path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"{p}: training configuration file not found; see examples/configs/ for templates"
            )
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML ({e}); fix the file") from e
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides or [])
    for key, value in items:
        keys = key.split(".") if isinstance(key, str) else key
        if len(keys) != 2:
            raise ConfigError(
                f"override {'.'.join(keys)!r}: name a section and a key, e.g. training.max_steps"
            )
        section = data.setdefault(keys[0], {})
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [{keys[0]}] must be a table")
        section[keys[1]] = value
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as e:
        raise _errors(e, where) from e
