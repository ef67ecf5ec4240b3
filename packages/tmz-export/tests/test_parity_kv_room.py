"""Parity on prompts that leave the answer less room than ``max_new_tokens`` in the bundle's KV cache.

LiteRT-LM's prompt and answer share the cache (prefill + decode <= max_num_tokens, measured on LiteRT-LM 0.18.1
with the tiny export: 113 + 15 = 128). PyTorch used to answer its full ``max_new_tokens`` anyway, so such a prompt
failed as "fewer decode steps" although both engines agreed on every token they could both produce.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from transformers import AutoTokenizer

from tmz.core.plugins import get_registry
from tmz.export.api import verify
from tmz.export.errors import ParityError
from tmz.export.prompts import ParityPrompt, side

pytestmark = pytest.mark.slow

KV_CACHE = 128  # the tiny_text_export_fp32 fixture's


def _prompt(words: int, pair=None) -> ParityPrompt:
    """``words`` fillers before a memorised input (the model still answers it), or fillers alone."""
    registry = get_registry()
    text = " ".join(["hospital"] * words + ([str(pair.input)] if pair else []))
    src, tgt = (
        (pair.source, pair.target) if pair else (side(registry, "en", "Latn"), side(registry, "zgh", "Tfng"))
    )
    return ParityPrompt(f"long-{words}", src, tgt, text)


def test_a_long_prompt_is_compared_within_the_room_the_cache_leaves(
    tiny_text_export_fp32, tiny_text_model, memorised_text_pairs
):
    tok = AutoTokenizer.from_pretrained(tiny_text_model)
    pair = max(memorised_text_pairs, key=lambda p: len(tok(p.answer, add_special_tokens=False)["input_ids"]))
    prompt = None
    for words in range(1, 100):  # the longest prompt that leaves some room
        candidate = _prompt(words, pair)
        ids = tok.apply_chat_template(candidate.messages(get_registry()), add_generation_prompt=True)
        n = len(ids["input_ids"] if isinstance(ids, Mapping) else ids)
        if n >= KV_CACHE - 1:
            break
        prompt = candidate
    report = verify(tiny_text_export_fp32, prompts=[prompt], max_new_tokens=64)
    [case] = report.cases
    prompt_tokens, steps = case.prompt_tokens["pytorch"], case.generated_tokens
    assert (
        steps["pytorch"] == steps["litert"] == KV_CACHE - prompt_tokens
    )  # both answered up to the cache's end
    assert case.verdict != "fail" and report.passed, case


def test_a_prompt_that_fills_the_cache_is_refused_by_name(tiny_text_export_fp32):
    with pytest.raises(
        ParityError, match=r"parity prompt 'long-99' takes \d+ tokens, the whole KV cache of 128"
    ):
        verify(tiny_text_export_fp32, prompts=[_prompt(99)])
