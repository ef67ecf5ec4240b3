"""tmz export: convert a merged checkpoint to TFLite with litert-torch, and check parity in LiteRT-LM.

``from tmz.export import export, verify``. The heavy modules (torch, transformers, litert-torch) load on first
use, so ``tmz export --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tmz.core.lazy import lazy_attributes
from tmz.export.errors import (
    ArchitectureError,
    ChatTemplateError,
    CheckpointError,
    ExportError,
    ParityError,
    TokenizerError,
    VisionNormalisationError,
    VocabularyError,
)
from tmz.export.recipes import QUANTIZATIONS

if TYPE_CHECKING:
    from tmz.export.api import export, verify
    from tmz.export.prompts import ParityPrompt

_LAZY = {"export": "tmz.export.api", "verify": "tmz.export.api", "ParityPrompt": "tmz.export.prompts"}

__all__ = [
    "QUANTIZATIONS",
    "ArchitectureError",
    "ChatTemplateError",
    "CheckpointError",
    "ExportError",
    "ParityError",
    "ParityPrompt",
    "TokenizerError",
    "VisionNormalisationError",
    "VocabularyError",
    "export",
    "verify",
]

__getattr__ = lazy_attributes(__name__, _LAZY)
