"""Model artifacts (a merged checkpoint from tmz-train merge, or a tiny base from init-tiny): settings, results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tmz.core.kinds.base import BaseRef, ImageNormalisation, LoraSettings, Record
from tmz.core.scoring import Evaluation


class Vocabulary(Record):
    """The vocabulary reconciliation of a merge."""

    embedding_rows: int = Field(description="rows of the embeddings before the merge")
    vocab_size: int = Field(description="the backend's (on-device) vocabulary size")
    resized: bool
    tokenizer_size: int


class Merged(Record):
    """How an adapter was merged into its base."""

    dtype: Literal["float32", "bfloat16"]
    base: BaseRef
    vocab: Vocabulary
    lora: LoraSettings
    dialect_mode: Literal["joint", "filter"]
    weights: Literal["original", "dequantized"] = Field(
        default="original",
        description="what the adapter was added to: the base's original weights, or (an nf4 adapter) the NF4 "
        "weights it was trained against, dequantized",
    )
    quantization: str = Field(default="none", description="the adapter's training quantization: nf4 or none")


class TinyBase(Record):
    """A tiny local Gemma-3 built by ``tmz train init-tiny`` (tests and the demo)."""

    seed: int
    vocab_size: int
    tokenizer_corpus_lines: int
    text_config: dict[str, Any] = Field(
        description="the Gemma3TextConfig fields that differ from the default"
    )
    vision_config: dict[str, Any] | None = Field(default=None, description="SiglipVisionConfig fields")


class ModelSettings(Record):
    """Exactly one of ``merged``, ``tiny`` or ``described_by`` says where the checkpoint came from."""

    merged: Merged | None = None
    tiny: TinyBase | None = None
    described_by: str | None = Field(
        default=None,
        description="a plain checkpoint described by the stage that found it (no manifest of its own)",
    )
    image_normalisation: ImageNormalisation | None = Field(default=None, description="vision backends")


class FidelitySplit(Record):
    """The merged checkpoint against the trained model on the prompts of one dataset split."""

    split: str = Field(description="the dataset split the prompts came from")
    held_out: bool = Field(description="the adapter was not trained on these rows")
    prompts: int = Field(description="prompts compared")
    exact: int = Field(
        description="prompts whose greedy answer from the merged checkpoint is the trained model's"
    )
    tokens: int = Field(description="answer tokens scored: the trained model's greedy answers, stop excluded")
    max_abs_delta: float = Field(description="largest |delta log p| over those tokens, trained vs merged")
    mean_abs_delta: float = Field(description="mean |delta log p| over those tokens")


class Fidelity(Record):
    """How closely a merged checkpoint computes the function that was trained (measured by every merge): the
    parity measures, with the trained model (its base as trained, nf4 or not, plus the unmerged adapter) as the
    reference and the merged checkpoint in the place of the export."""

    reference: str = Field(description="the trained model: 'nf4 base + adapter' or 'base + adapter'")
    weights: Literal["original", "dequantized"] = Field(description="what the adapter was merged into")
    max_new_tokens: int = Field(description="cap of each greedy answer")
    prompts: int = Field(description="prompts compared, all splits")
    exact: int = Field(description="of them, greedy answers identical token for token")
    max_abs_delta: float = Field(description="largest |delta log p| over all scored answer tokens")
    mean_abs_delta: float = Field(description="mean |delta log p| over all scored answer tokens")
    splits: list[FidelitySplit] = Field(default_factory=list, description="the same, per split")


class ModelResults(Record):
    """Scores carried from the adapter, and the merge's fidelity to the trained model."""

    eval: Evaluation | None = Field(default=None, description="the adapter's scores, carried over by merge")
    fidelity: Fidelity | None = Field(
        default=None, description="merged: measured against the trained model (None: not measured)"
    )
