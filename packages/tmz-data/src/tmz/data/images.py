"""Image rows: Pillow checks that an image lies in the corpus folder, exists, is not too large (from its header,
before decoding), decodes fully and is large enough, then stores an RGB PNG."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

from PIL import Image

from tmz.data.rejects import Reject

IMAGES_DIR = "images"


def corpus_image(base: Path, rel: str) -> Path:
    """The image ``rel`` names, relative to the folder of its corpus file ``base``; Reject when the path leaves
    that folder (absolute, ``..``, or through a symbolic link): a corpus only brings its own images."""
    path = Path(rel)
    inside = not path.is_absolute() and ".." not in path.parts
    if inside and (base / path).exists():
        inside = (base / path).resolve().is_relative_to(base.resolve())
    if not inside:
        raise Reject(
            "image_outside_corpus",
            f"image {rel} lies outside the corpus folder {base}; image paths are relative to their file and "
            "stay in its folder: copy the image there",
        )
    return base / path


def load_rgb(path: Path, min_size: int, max_pixels: int) -> Image.Image:
    """The fully decoded image as RGB (transparency over white); Reject when missing, corrupt, too small, or of
    more than ``max_pixels`` pixels (read from its header: such an image is never decoded)."""
    if not path.is_file():
        raise Reject("image_missing", f"image {path} does not exist; image paths are relative to their file")
    try:
        with warnings.catch_warnings():  # the limit that matters is max_pixels, checked here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise _too_large(path, f"is {w}x{h} pixels", max_pixels)
                im.load()
                rgb = _to_rgb(im)
    except Image.DecompressionBombError as e:  # Pillow's own limit (twice its warning's), met when opening
        raise _too_large(path, f"is too large for Pillow ({e})", max_pixels) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise Reject("image_corrupt", f"image {path} cannot be decoded ({type(e).__name__}: {e})") from None
    if min(rgb.size) < min_size:
        w, h = rgb.size
        raise Reject(
            "image_too_small", f"image {path} is {w}x{h}; both sides must be at least {min_size} pixels"
        )
    return rgb


def _too_large(path: Path, size: str, max_pixels: int) -> Reject:
    return Reject(
        "image_too_large",
        f"image {path} {size}, over max_image_pixels={max_pixels}; shrink it, or raise the limit if "
        "the machine has the memory to decode it",
    )


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
