"""tmz runtime: translate with a shipped bundle on LiteRT-LM (text, streaming, images, phrasebook, history).

``evaluate`` and ``benchmark`` live in ``tmz.runtime.evaluate`` and ``tmz.runtime.benchmark`` and are
re-exported here lazily (they bring sacrebleu and jiwer).
"""

from tmz.core.lazy import lazy_attributes
from tmz.runtime.errors import (
    BundleLoadError,
    EngineError,
    HistoryError,
    ImageError,
    ModalityError,
    PhrasebookError,
    UnknownLanguageError,
)
from tmz.runtime.history import History, HistoryEntry
from tmz.runtime.phrasebook import Phrasebook, PhraseMatch
from tmz.runtime.translation import GREEDY, Sampling, Translation
from tmz.runtime.translator import TranslationStream, Translator

__all__ = [
    "GREEDY",
    "BundleLoadError",
    "EngineError",
    "History",
    "HistoryEntry",
    "HistoryError",
    "ImageError",
    "ModalityError",
    "PhraseMatch",
    "Phrasebook",
    "PhrasebookError",
    "Sampling",
    "Translation",
    "TranslationStream",
    "Translator",
    "UnknownLanguageError",
    "benchmark",
    "evaluate",
]

__getattr__ = lazy_attributes(
    __name__, {"evaluate": "tmz.runtime.evaluate", "benchmark": "tmz.runtime.benchmark"}
)
