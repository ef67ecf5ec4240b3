"""Adapter artifacts (tmz-train finetune): settings and results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tmz.core.kinds.base import BaseRef, ImageNormalisation, LoraSettings, Record
from tmz.core.scoring import Evaluation


class Hardware(Record):
    """What the fine-tune ran on and what it chose for it."""

    device: str = Field(description="cuda, mps or cpu")
    quantization: str = Field(
        description="the base's weights while training: nf4 (QLoRA: 4-bit NF4, double quantization) or none "
        "(plain LoRA), as lora.quantization resolved on this device"
    )
    precision: str = Field(description="the trainer's mixed precision: bf16, fp16 or fp32")
    optim: str = Field(description="the optimizer trl/transformers ran")
    liger_kernel: bool
    compute_dtype: str | None = Field(
        default=None,
        description="nf4: the dtype bitsandbytes dequantizes to and multiplies in (bfloat16, ...)",
    )
    bitsandbytes: str | None = Field(default=None, description="nf4: the bitsandbytes version that quantized")


class LearnedCheck(Record):
    """One check of the until-learned callback."""

    step: int
    min_margin: float = Field(description="smallest answer-token margin over the training rows, in nats")
    share_learned: float = Field(description="share of rows whose every answer token has the margin")


class Learned(Record):
    """Whether training went on until every training row was learned (``training.learned_margin``)."""

    margin: float = Field(description="the margin asked for, in nats")
    reached: bool
    step: int | None = Field(description="the step it was reached at (None: not reached)")
    min_margin: float | None
    share_learned: float | None
    checks: list[LearnedCheck] = Field(default_factory=list)


class RowRecall(Record):
    """One training row after training."""

    id: str
    recalled: bool = Field(description="greedy generation gives the reference exactly")
    margin: float = Field(description="the row's smallest answer-token margin, in nats")


class Recall(Record):
    """Exact recall of the training rows after training (with until-learned)."""

    split: str
    rows: int
    exact: int
    missed: list[str] = Field(default_factory=list, description="ids of rows not recalled exactly")
    margins: list[RowRecall] = Field(default_factory=list)


class LossPoint(Record):
    """The training loss at a logging step."""

    step: int
    loss: float


class AdapterSettings(Record):
    """How an adapter was trained."""

    config: dict[str, Any] = Field(description="the effective TrainConfig (tmz.train.config.TrainConfig)")
    base: BaseRef
    hardware: Hardware
    lora: LoraSettings = Field(description="the LoRA, target modules as peft resolved them")
    train_rows: int
    eval_rows: int = 0
    dialect_mode: Literal["joint", "filter"] = Field(
        description="all varieties together, or only those asked"
    )
    world_size: int = 1
    image_normalisation: ImageNormalisation | None = Field(default=None, description="vision backends")


class AdapterResults(Record):
    """How training went: loss, steps, whether it learned, and the scores after it."""

    train_loss: float
    global_step: int
    resumed_from: str | None = Field(default=None, description="the checkpoint training resumed from")
    loss_history: list[LossPoint] = Field(default_factory=list)
    learned: Learned | None = None
    recall: Recall | None = None
    eval: Evaluation | None = Field(default=None, description="scores on the eval split after training")
