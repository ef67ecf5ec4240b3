"""What a translation call returns, and the sampler and engine options it takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Origin = Literal["phrasebook", "model"]
#: Most tokens a translation may generate, unless the caller says otherwise.
DEFAULT_MAX_TOKENS = 256
#: LiteRT-LM's activation data types for the decoder (``None`` keeps the engine's default, fp16 on CPU).
ACTIVATIONS = ("float32", "float16", "int16", "int8")


@dataclass(frozen=True)
class Sampling:
    """Sampler options; the default is greedy decoding (top-k 1, temperature 0), what translation wants."""

    top_k: int = 1
    top_p: float | None = None
    temperature: float = 0.0
    seed: int = 0


GREEDY = Sampling()


@dataclass(frozen=True)
class Translation:
    """One answer, saying where it came from: the curated phrasebook or the model in the bundle."""

    text: str
    origin: Origin
    direction: str  # en_Latn->zgh_Tfng, or und_Zyyy->zgh_Tfng for an image of text in an unknown language
    source_language: str | None
    source_script: str | None
    target_language: str
    target_script: str
    dialect: str | None
    source_text: str | None  # None for an image
    latency_s: float
    bundle_sha256: str | None  # the bundle that wrote the text (None for a phrasebook answer)
    phrase_set: str | None = None
    phrase_id: str | None = None
    converted_from: str | None = None  # script the text was transliterated from to reach the one asked for
    image_sha256: str | None = None
    history_id: int | None = None
    validation: str | None = None  # phrasebook answers: "validated by 2 reviewers" or "not validated"
