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


class ModelResults(Record):
    """Scores carried from the adapter."""

    eval: Evaluation | None = Field(default=None, description="the adapter's scores, carried over by merge")
