"""Parity holds one model at a time: PyTorch answers every prompt, its float32 checkpoint is freed, and only then
does LiteRT-LM load the export (issue 19: the two together set `tmz export verify`'s peak memory)."""

from __future__ import annotations

import gc
import weakref

import pytest

from tmz.export import parity
from tmz.export.api import verify

pytestmark = pytest.mark.slow


def test_the_checkpoint_is_freed_before_litert_lm_loads(tiny_text_export_fp32, monkeypatch):
    models: list[weakref.ref] = []
    alive_at_load: list[bool] = []
    answered_before_load: list[int] = []
    torch_init, lite_init, torch_answer = (
        parity.TorchEngine.__init__,
        parity.LiteRtEngine.__init__,
        parity.TorchEngine.answer,
    )
    answers = 0

    def track_model(self, *args, **kwargs):
        torch_init(self, *args, **kwargs)
        models.append(weakref.ref(self.model))

    def count_answer(self, *args, **kwargs):
        nonlocal answers
        answers += 1
        return torch_answer(self, *args, **kwargs)

    def check_freed(self, *args, **kwargs):
        gc.collect()
        alive_at_load.append(any(ref() is not None for ref in models))
        answered_before_load.append(answers)
        lite_init(self, *args, **kwargs)

    monkeypatch.setattr(parity.TorchEngine, "__init__", track_model)
    monkeypatch.setattr(parity.TorchEngine, "answer", count_answer)
    monkeypatch.setattr(parity.LiteRtEngine, "__init__", check_freed)
    report = verify(tiny_text_export_fp32, parity_prompts=3)
    assert report.passed and len(report.cases) == 3
    assert len(models) == 1 and alive_at_load == [False]  # one PyTorch model, gone when LiteRT-LM loaded
    assert answered_before_load == [3]  # after PyTorch had answered every prompt
