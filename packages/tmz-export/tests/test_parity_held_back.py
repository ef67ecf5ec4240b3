"""Parity when LiteRT-LM's text leaves out a final '▁' it generated (LiteRT-LM 0.18.1 holds back a trailing '▁'
piece and does not flush it: 5 decode steps of '▁' come back as 4 spaces). The tail counts as LiteRT-LM's answer
only when it took as many decode steps and its own score of each missing token is above log 1/2; every other
mismatch still fails."""

import pytest

from tmz.core.plugins import get_registry
from tmz.export.parity import Comparison, TorchAnswer, summarise
from tmz.export.tolerances import tolerance_for

ANSWER = "where   "  # a word, then three '▁' pieces


def _case(sp, prompt, engines, lite_text: str, lite_steps: int | None = None, logprob: float = -0.01):
    ids = sp.encode(ANSWER)
    answer = TorchAnswer([2, *sp.encode("abc")], "abc", ids, ANSWER, len(ids) + 1, {})
    lite = engines.Lite(sp, lite_text, answer.steps if lite_steps is None else lite_steps, logprob)
    compare = Comparison(engines.Torch(answer, sp.get_piece_size(), logprob), lite, sp, tolerance_for("fp32"))
    return compare.compare(get_registry(), prompt, compare.reference(get_registry(), prompt, None), None), ids


def test_whitespace_pieces_are_single_tokens(sp):
    ids = sp.encode(ANSWER)
    assert ids[: len(sp.encode("where"))] == sp.encode("where") and len(ids) == len(sp.encode("where")) + 3


def test_a_held_back_trailing_space_is_the_same_answer(sp, prompt, engines):
    case, ids = _case(sp, prompt, engines, ANSWER[:-1])
    assert case.litert_ids == ids[:-1] and case.litert_held_back_ids == ids[-1:]
    assert (case.verdict, case.failure, case.exact, case.parting) == ("match", None, True, None)
    assert summarise([case], tolerance_for("fp32"), 8, "test", "ckpt", 0.0).passed


def test_the_same_text_needs_no_held_back_tail(sp, prompt, engines):
    case, _ = _case(sp, prompt, engines, ANSWER)
    assert case.verdict == "match" and case.litert_held_back_ids == []


def test_every_hidden_piece_is_proven_by_its_own_score(sp, prompt, engines):
    case, ids = _case(
        sp, prompt, engines, "where"
    )  # all three '▁' left out, as many decode steps, each p > 1/2
    assert case.verdict == "match" and case.litert_held_back_ids == ids[-3:]


@pytest.mark.parametrize(
    ("lite_text", "lite_steps", "logprob"),
    [
        (ANSWER[:-1], 4, -0.01),  # fewer decode steps: LiteRT-LM did stop earlier
        (ANSWER[:-1], None, -1.0),  # LiteRT-LM unsure of the hidden '▁' (p < 1/2): it may have chosen another
        ("whera   ", None, -0.01),  # a real divergence before the whitespace
        ("wher", None, -0.01),  # text lost, not whitespace
    ],
)
def test_anything_else_still_fails_as_a_divergence(sp, prompt, engines, lite_text, lite_steps, logprob):
    case, _ = _case(sp, prompt, engines, lite_text, lite_steps, logprob)
    assert (case.verdict, case.failure, case.litert_held_back_ids) == ("fail", "divergence", [])
    assert not summarise([case], tolerance_for("fp32"), 8, "test", "ckpt", 0.0).passed
