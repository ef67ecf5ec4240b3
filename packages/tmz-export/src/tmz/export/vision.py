"""The pixel-scaling fix: LiteRT-LM feeds the vision encoder RGB pixels scaled to [0, 1], while the model was
trained on the Hugging Face processor's pixels (``x * rescale_factor``, then ``(x - mean) / std``). litert-torch's
Gemma 3 encoder wrapper does not normalise, so the exported encoder gets a forward pre-hook on the vision tower
that maps the device's pixels to the training ones. Installed packages stay untouched."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from tmz.core.kinds.base import ImageNormalisation


class PixelNormaliser:
    """Maps [0, 1] channel-first pixels to what the processor produced in training."""

    def __init__(self, normalisation: ImageNormalisation) -> None:
        # LiteRT-LM's x01 is x / 255 of the 0..255 pixel the processor saw.
        self.scale = 255.0 * (normalisation.rescale_factor if normalisation.do_rescale else 1.0)
        self.normalise = normalisation.do_normalize
        self.mean = torch.tensor(normalisation.image_mean, dtype=torch.float32).reshape(1, 3, 1, 1)
        self.std = torch.tensor(normalisation.image_std, dtype=torch.float32).reshape(1, 3, 1, 1)

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels * self.scale
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype) if self.normalise else x

    def hook(self, _module: torch.nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Forward pre-hook (``with_kwargs=True``) for a vision tower called with ``pixel_values``."""
        if "pixel_values" in kwargs:
            kwargs = {**kwargs, "pixel_values": self(kwargs["pixel_values"])}
        else:
            args = (self(args[0]), *args[1:])
        return args, kwargs


def vision_tower(model: torch.nn.Module) -> torch.nn.Module:
    """The vision tower of a Gemma 3 image + text model (the module litert-torch's encoder wrapper calls)."""
    return model.model.vision_tower


@contextlib.contextmanager
def normalising(model: torch.nn.Module, normalisation: ImageNormalisation) -> Iterator[PixelNormaliser]:
    """While active, the model's vision tower normalises its input as training did."""
    normaliser = PixelNormaliser(normalisation)
    handle = vision_tower(model).register_forward_pre_hook(normaliser.hook, with_kwargs=True)
    try:
        yield normaliser
    finally:
        handle.remove()
