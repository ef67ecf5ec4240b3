"""tmz train: fine-tune, evaluate and merge Gemma 3 translation models (and build tiny ones offline).

Public API: :func:`finetune`, :func:`evaluate`, :func:`merge`, :func:`build_tiny`, :func:`load_config`.
Submodules import torch/transformers lazily through this package's attributes.
"""

from __future__ import annotations

from tmz.core.lazy import lazy_attributes

_EXPORTS = {
    "finetune": "tmz.train.sft",
    "evaluate": "tmz.train.evaluation",
    "merge": "tmz.train.merging",
    "build_tiny": "tmz.train.tiny",
    "load_config": "tmz.train.config",
    "TrainConfig": "tmz.train.config",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
