"""An answer holding a NUL (a byte-fallback <0x00> piece): LiteRT-LM 0.18.1 reads text as a C string, so its
tokenizer and scorer see the answer up to the NUL (measured on the tiny Gemma 3n export: tokenize("bQxxxxx\\0ooo")
gave the ids of "bQxxxxx" only). The answers are still compared whole; the log-probabilities up to the NUL."""

from tmz.core.plugins import get_registry
from tmz.export.parity import Comparison, TorchAnswer
from tmz.export.tolerances import tolerance_for

ANSWER = "where\0abc"


def _case(sp, prompt, engines, lite_text: str):
    ids = sp.encode(ANSWER)
    answer = TorchAnswer([2, *sp.encode("abc")], "abc", ids, ANSWER, len(ids) + 1, {})
    lite = engines.Lite(sp, lite_text, answer.steps)
    compare = Comparison(engines.Torch(answer, sp.get_piece_size()), lite, sp, tolerance_for("fp32"))
    return compare.compare(get_registry(), prompt, compare.reference(get_registry(), prompt, None), None), ids


def test_the_nul_is_a_byte_piece(sp):
    assert sp.decode(sp.encode(ANSWER)) == ANSWER and len(sp.encode(ANSWER)) > len(sp.encode("where")) + 1


def test_the_same_answer_is_scored_up_to_its_nul(sp, prompt, engines):
    case, ids = _case(sp, prompt, engines, ANSWER)
    assert (case.verdict, case.failure, case.exact) == ("match", None, True)
    assert case.litert_ids == ids and case.scored_ids == sp.encode("where") == ids[: len(case.scored_ids)]
    assert len(case.litert_logprobs) == len(case.scored_ids)


def test_answers_that_part_after_the_nul_still_diverge(sp, prompt, engines):
    case, _ = _case(sp, prompt, engines, "where\0xyz")
    assert (case.verdict, case.failure) == ("fail", "divergence") and case.parting.position > len(
        case.scored_ids
    )
