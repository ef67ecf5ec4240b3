"""Images for vision bundles: validated and re-encoded with Pillow as the RGB PNG the model was trained on."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from tmz.runtime.errors import ImageError


def load_image(image: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    """(RGB PNG bytes, sha256 of the input) for a path or encoded image bytes; ImageError when unreadable."""
    label = "image bytes" if isinstance(image, bytes) else str(image)
    try:
        raw = image if isinstance(image, bytes) else Path(image).read_bytes()
    except OSError as e:
        raise ImageError(f"{label}: cannot read the image ({e.strerror}); check the path") from None
    try:
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ImageError(f"{label}: not a readable image ({e}); pass a PNG, JPEG or WebP file") from None
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    return out.getvalue(), hashlib.sha256(raw).hexdigest()
