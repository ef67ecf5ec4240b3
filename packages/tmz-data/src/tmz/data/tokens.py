"""Token counts with a SentencePiece model (length limits and statistics)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tmz.core.errors import ConfigError


def token_counter(path: str | Path) -> Callable[[str], int]:
    """A function counting the tokens of a text; ``path`` is a ``.model`` file or a directory holding ``tokenizer.model``."""
    import sentencepiece as spm

    p = Path(path)
    if p.is_dir():
        p = p / "tokenizer.model"
    if not p.is_file():
        raise ConfigError(
            f"tokenizer {path}: no SentencePiece model there (a .model file or a dir with tokenizer.model)"
        )
    try:
        sp = spm.SentencePieceProcessor(model_file=str(p))
    except (OSError, RuntimeError) as e:
        raise ConfigError(f"tokenizer {p}: not a SentencePiece model ({e})") from e
    return lambda text: len(sp.encode(text))
