"""Bundle files (tmz-bundle, .task and .litertlm): settings and results."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from tmz.core.kinds.base import Record
from tmz.core.kinds.export import Quantization


class BundleLlm(Record):
    """The prompt and stop tokens a bundle declares."""

    model_type: str
    start_token: str
    stop_tokens: list[str]
    prompt_prefix: str
    prompt_suffix: str


class Sampler(Record):
    """The sampler a .litertlm declares (top_p, the only one LiteRT-LM 0.18 implements on CPU)."""

    type: Literal["top_p"] = "top_p"
    top_k: int = Field(default=1, description="1: greedy")
    top_p: float = 1.0
    temperature: float = 0.0


class BundleSettings(Record):
    """What the bundle is, what it needs, and how it prompts and samples."""

    file: str = Field(description="the bundle's file name")
    version: str = Field(description="the model's version, for the catalog")
    min_runtime_version: str = Field(description="LiteRT-LM major.minor it was built and verified against")
    quantization: Quantization
    kv_cache_max_len: int
    prefill_lengths: list[int]
    export_task: str
    modalities: list[Literal["text", "image"]]
    llm: BundleLlm
    sampler: Sampler | None = Field(default=None, description="None for a .task (METADATA has no sampler)")


class Content(Record):
    """One section of the bundle (zip entry name, or LlmMetadataProto / SP_Tokenizer / tf_lite_<role>)."""

    name: str
    sha256: str
    size: int


class LineageEntry(Record):
    """One manifest behind a bundle."""

    kind: Literal["dataset", "adapter", "model", "export"]
    name: str
    sha256: str
    created: datetime
    producer: str = Field(description="distribution and version, e.g. 'tmz-export 0.2.0'")


class ParityVerdict(Record):
    """The export's parity check (``tmz.core.parity.ParityReport``) as a bundle carries it: the verdict and its
    numbers, without the per-prompt cases or the checkpoint's path."""

    passed: bool | None = Field(
        description="None: the export was made with parity off, so nothing was compared"
    )
    allowed: bool = Field(
        default=False,
        description="bundled although parity failed or was not run (--allow-failed-parity / --allow-no-parity)",
    )
    prompts: int = Field(default=0, description="prompts compared")
    exact: int = Field(default=0, description="prompts whose greedy answers are identical")
    ties: int = Field(default=0, description="prompts whose answers part at a near-tie of PyTorch's own")
    divergences: int = Field(default=0, description="prompts whose answers part where PyTorch was sure")
    logprob_failures: int = Field(default=0, description="prompts with log-probabilities beyond tolerance")
    prompt_failures: int = Field(
        default=0, description="prompts the engines rendered or tokenized differently"
    )
    vision_failures: int = Field(
        default=0, description="image prompts whose exported encoder sees other features"
    )
    max_abs_delta: float | None = Field(default=None, description="max |delta log p| over the scored tokens")
    mean_abs_delta: float | None = Field(
        default=None, description="mean |delta log p| over the scored tokens"
    )
    logprob_tolerance: float | None = Field(default=None, description="the largest |delta log p| allowed")
    mean_tolerance: float | None = Field(default=None, description="the largest mean |delta log p| allowed")
    vision_tolerance: float | None = Field(
        default=None, description="the largest relative vision encoder error"
    )
    tolerance_source: str | None = Field(default=None, description="how the tolerances were chosen")
    prompt_source: str | None = Field(default=None, description="where the compared prompts came from")
    engine: dict[str, str] = Field(default_factory=dict, description="engine versions compared")


class BundleResults(Record):
    """The sections of the bundle file, the manifests behind it and the export's parity verdict."""

    contents: list[Content]
    lineage: list[LineageEntry] = Field(default_factory=list, description="newest first: export ... dataset")
    parity: ParityVerdict | None = Field(
        default=None,
        description="the export's parity check; None in manifests written before tmz recorded it",
    )
