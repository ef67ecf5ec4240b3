"""tmz pipeline: the whole chain in one command (``tmz pipeline run``) and the offline demo (``tmz demo``).

Public API: :func:`run_pipeline`, :class:`PipelineConfig`, and ``TRAIN_OVERRIDES``, the demo's training settings
under which the tiny model learns its split (``finetune(..., overrides=TRAIN_OVERRIDES)``).
"""

from __future__ import annotations

from tmz.core.lazy import lazy_attributes

_EXPORTS = {
    "run_pipeline": "tmz.pipeline.run",
    "PipelineConfig": "tmz.pipeline.config",
    "TRAIN_OVERRIDES": "tmz.pipeline.demo",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
