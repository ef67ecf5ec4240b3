"""tmz data: read, validate, normalise, transliterate, expand, deduplicate and split parallel corpora.

``from tmz.data import prepare`` loads `datasets` on first use only, so the ``tmz`` CLI starts fast.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "prepare": "tmz.data.pipeline",
    "PrepareOptions": "tmz.data.options",
    "stats": "tmz.data.statistics",
    "load_dataset_dir": "tmz.data.statistics",
    "transliterate": "tmz.data.transliteration",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tmz.data' has no attribute {name!r}")
