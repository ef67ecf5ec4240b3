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


class BundleResults(Record):
    """The sections of the bundle file and the manifests behind it."""

    contents: list[Content]
    lineage: list[LineageEntry] = Field(default_factory=list, description="newest first: export ... dataset")
