"""tmz data: read, validate, normalise, transliterate, expand, deduplicate and split parallel corpora.

``from tmz.data import prepare`` loads `datasets` on first use only, so the ``tmz`` CLI starts fast.
"""

from tmz.core.lazy import lazy_attributes

_EXPORTS = {
    "prepare": "tmz.data.pipeline",
    "PrepareOptions": "tmz.data.options",
    "stats": "tmz.data.statistics",
    "load_dataset_dir": "tmz.data.statistics",
    "transliterate": "tmz.data.transliteration",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
