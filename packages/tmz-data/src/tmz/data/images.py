"""Image rows: Pillow checks that an image exists, decodes fully and is large enough, then stores an RGB PNG."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from tmz.data.rejects import Reject

IMAGES_DIR = "images"


def load_rgb(path: Path, min_size: int) -> Image.Image:
    """The fully decoded image as RGB (transparency over white); Reject when missing, corrupt or too small."""
    if not path.is_file():
        raise Reject("image_missing", f"image {path} does not exist; image paths are relative to their file")
    try:
        with Image.open(path) as im:
            im.load()
            rgb = _to_rgb(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise Reject("image_corrupt", f"image {path} cannot be decoded ({type(e).__name__}: {e})") from None
    if min(rgb.size) < min_size:
        w, h = rgb.size
        raise Reject(
            "image_too_small", f"image {path} is {w}x{h}; both sides must be at least {min_size} pixels"
        )
    return rgb


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


class ImageStore:
    """Writes RGB PNG copies into ``<dataset>/images/``, named by the sha256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, image: Image.Image) -> tuple[str, str]:
        """(path relative to the dataset directory, sha256) of the stored PNG."""
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        rel = f"{IMAGES_DIR}/{digest}.png"
        target = self.root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return rel, digest
