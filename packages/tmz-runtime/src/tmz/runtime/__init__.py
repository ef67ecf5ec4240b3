"""tmz runtime: translate with a shipped bundle on LiteRT-LM (text, streaming, images, phrasebook, history).

``evaluate`` and ``benchmark`` live in ``tmz.runtime.evaluate`` and ``tmz.runtime.benchmark`` and are
re-exported here lazily (they bring sacrebleu and jiwer).
"""

from typing import Any

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


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from tmz.runtime.evaluate import evaluate

        return evaluate
    if name == "benchmark":
        from tmz.runtime.benchmark import benchmark

        return benchmark
    raise AttributeError(name)
