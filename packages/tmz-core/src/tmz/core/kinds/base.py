"""What the kinds' models share: strict pydantic models and the image normalisation a vision model needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """A manifest section: unknown fields are an error, so a typo or a stale writer cannot pass unseen."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ImageNormalisation(Record):
    """What a vision model's image processor does to pixels; the exported vision encoder must do the same."""

    do_rescale: bool = Field(description="pixels are multiplied by rescale_factor first")
    rescale_factor: float = Field(description="usually 1/255: bytes to [0, 1]")
    do_normalize: bool = Field(description="then (x - image_mean) / image_std per channel")
    image_mean: list[float] = Field(description="per RGB channel")
    image_std: list[float] = Field(description="per RGB channel")
    image_size: list[int] = Field(description="[height, width] the processor resizes to")

    @classmethod
    def of(cls, processor: Any) -> ImageNormalisation:
        """Read from a Hugging Face image processor (``size`` a ``{"height", "width"}`` mapping)."""
        size = processor.size
        return cls(
            do_rescale=bool(processor.do_rescale),
            rescale_factor=float(processor.rescale_factor),
            do_normalize=bool(processor.do_normalize),
            image_mean=[float(x) for x in processor.image_mean],
            image_std=[float(x) for x in processor.image_std],
            image_size=[int(size["height"]), int(size["width"])],
        )


class LoraSettings(Record):
    """The LoRA an adapter was trained with (peft's LoraConfig fields tmz sets)."""

    r: int = Field(description="rank")
    alpha: int = Field(description="lora_alpha (scale alpha / r)")
    dropout: float
    target_modules: str | list[str] = Field(description='"all-linear" or the module names peft resolved')
    modules_to_save: list[str] = Field(default_factory=list)
    bias: str = "none"


class BaseRef(Record):
    """The base checkpoint of a fine-tune."""

    source: str = Field(
        description="a hub id, an absolute directory, or 'base' (the copy inside the adapter)"
    )
    local: bool = Field(description="a directory on this machine (else a hub id)")
    manifest_sha256: str | None = Field(default=None, description="sha256 of the base's own manifest, if any")
