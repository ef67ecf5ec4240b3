"""Export artifacts (tmz-export): settings and results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tmz.core.kinds.base import ImageNormalisation, Record
from tmz.core.parity import ParityReport

Quantization = Literal["int8", "int4", "fp16", "fp32"]
ModelDtype = Literal["float32", "bfloat16"]
Converter = Literal["v1", "v1-lightweight", "v2", "v2-streaming"]


class Recipes(Record):
    """The ai-edge-quantizer recipes used (None: none, fp32)."""

    llm: str | None
    vision: str | None = None


class Components(Record):
    """Role -> file name in the export directory."""

    prefill_decode: str
    tokenizer: str = Field(description="tokenizer.model (SentencePiece)")
    embedder: str | None = Field(
        default=None, description="where litert-torch writes it separately (vision; externalize_embedder)"
    )
    per_layer_embedder: str | None = Field(
        default=None, description="Gemma 3n/4: the per-layer input embeddings' model (litert-torch's extra)"
    )
    vision_encoder: str | None = None
    vision_adapter: str | None = None
    litertlm: str | None = Field(
        default=None, description="litert-torch's own bundle, run by the parity check"
    )
    llm_metadata: str | None = Field(default=None, description="the LlmMetadata protobuf litert-torch packed")
    executor_metadata: str | None = None

    def present(self) -> dict[str, str]:
        """The roles that have a file."""
        return {role: name for role, name in self.model_dump().items() if name is not None}


class LlmSpec(Record):
    """How the exported model is prompted and stopped (tokens as strings, e.g. <bos>, <end_of_turn>)."""

    model_type: str
    start_token: str
    stop_tokens: list[str]
    chat_template: str | None = Field(default=None, description="the checkpoint's jinja chat template")
    prompt_prefix: str = Field(description="one rendered user turn before the text, without BOS")
    prompt_suffix: str = Field(description="after the text, up to the model's turn")


class SourceCheckpoint(Record):
    """A plain checkpoint (no manifest) an export was made from."""

    path: str
    described: dict[str, Any] = Field(
        description="the model manifest tmz-export wrote for it, in memory only"
    )


class ExportSettings(Record):
    """How the checkpoint was converted and what the export directory holds."""

    quantization: Quantization
    recipes: Recipes
    prefill_lengths: list[int]
    kv_cache_max_len: int
    export_task: str = Field(description="litert-torch's task: text_generation or image_text_to_text")
    vision: bool = Field(description="the vision encoder was exported")
    components: Components
    llm: LlmSpec
    litert_torch: str = Field(description="litert-torch version")
    model_dtype: ModelDtype = Field(
        default="float32", description="dtype litert-torch loaded and traced the model in (its model_dtype)"
    )
    converter: Converter = Field(
        default="v1",
        description="litert-torch converter: v1, v1-lightweight, v2 or v2-streaming (tmz-export)",
    )
    source_checkpoint: SourceCheckpoint | None = None
    image_normalisation: ImageNormalisation | None = Field(
        default=None, description="vision: applied inside the exported vision encoder"
    )
    pixel_input: str | None = Field(default=None, description="vision: what the encoder takes")


class Usage(Record):
    """Time and peak memory of a stage."""

    seconds: float
    peak_rss_mb: float


class CheckpointParts(Record):
    """Which top-level parts of a multimodal checkpoint the export carries: a text export of a
    ``...ForConditionalGeneration`` checkpoint keeps its language model and drops its other towers."""

    kept: dict[str, int] = Field(
        description="parts the exported files carry: weight-name prefix (e.g. model.language_model) -> parameters"
    )
    dropped: dict[str, int] = Field(
        description="parts left out of the export (e.g. model.audio_tower): weight-name prefix -> parameters"
    )


class ExportResults(Record):
    """The checks before conversion, what conversion cost, and the parity check after it."""

    checks: dict[str, Any] = Field(description="the pre-conversion checks, by name, as each reported")
    export: Usage = Field(description="time and peak memory of the conversion")
    parity: ParityReport | None = Field(default=None, description="None: exported with parity off")
    parts: CheckpointParts | None = Field(
        default=None,
        description="multimodal checkpoints (config.json with a text_config): the parts kept and dropped; None: a "
        "text-only checkpoint, exported whole",
    )
