"""Parity on a model whose vocabulary outgrows its tokenizer (Gemma 3n: 262,400 ids, 262,144 SentencePiece pieces;
the rest are image and audio soft tokens). An answer with such an id used to crash the check (SentencePiece's
``decode``: IndexError, piece id is out of range); it is now compared up to that id and fails as a divergence
that the report and the error name."""

from pathlib import Path

import torch

from tmz.core.plugins import get_registry
from tmz.export.diagnosis import parity_failure
from tmz.export.parity import (
    Comparison,
    TorchAnswer,
    TorchEngine,
    split_untokenizable,
    summarise,
)
from tmz.export.tolerances import tolerance_for


def test_split_untokenizable():
    assert split_untokenizable([5, 6, 7], 10) == ([5, 6, 7], [])
    assert split_untokenizable([5, 12, 6, 11], 10) == ([5], [12, 11])
    assert split_untokenizable([10], 10) == ([], [10])
    assert split_untokenizable([-1, 4], 10) == ([], [-1])


class _Tokenizer:
    bos_token, pad_token_id = "<bos>", 0

    def apply_chat_template(self, conv, add_generation_prompt, tokenize):
        return "<bos>where"

    def __call__(self, text, add_special_tokens, return_tensors):
        return {"input_ids": torch.tensor([[2, 40, 41]])}


class _Model:
    def __init__(self, new_ids: list[int]) -> None:
        self.new_ids = new_ids

    def generate(self, input_ids, **kwargs):
        return torch.cat([input_ids, torch.tensor([self.new_ids])], dim=1)


def _torch_engine(sp, new_ids: list[int]) -> TorchEngine:
    engine = object.__new__(TorchEngine)  # the real answer(), on a stand-in model and tokenizer
    engine.model, engine.tokenizer, engine.processor = _Model(new_ids), _Tokenizer(), None
    engine.sp, engine.stop, engine.max_new_tokens, engine.max_num_tokens = sp, [1], 8, 128
    return engine


def test_torch_answer_with_a_soft_token_id_does_not_crash(sp, prompt):
    size = sp.get_piece_size()
    word = sp.encode("where")
    answer = _torch_engine(sp, [*word, size + 3, *word, size, 1]).answer(get_registry(), prompt, None)
    assert answer.ids == word and answer.text == "where"
    assert answer.untokenizable == [size + 3, size]
    assert answer.steps == len(word) * 2 + 3  # decode steps still count every generated token


def _case(sp, prompt, engines, untokenizable: list[int]):
    word = sp.encode("where")
    answer = TorchAnswer([2, *sp.encode("abc")], "abc", word, "where", len(word) + 2, {}, untokenizable)
    lite = engines.Lite(sp, "where", len(word) + 2)
    compare = Comparison(engines.Torch(answer, sp.get_piece_size() + 16), lite, sp, tolerance_for("fp32"))
    case = compare.compare(get_registry(), prompt, compare.reference(get_registry(), prompt, None), None)
    # LiteRT-LM fails a whole answer on such an id: it is asked for the answer up to it only
    assert lite.caps == [len(word) if untokenizable else None]
    return case


def test_soft_token_answer_is_a_divergence_the_report_names(sp, prompt, engines):
    size = sp.get_piece_size()
    clean = _case(sp, prompt, engines, [])
    assert clean.failure is None and clean.pytorch_untokenizable_ids == []
    case = _case(sp, prompt, engines, [size + 3])
    # same text on both sides, scores agree: only the soft-token id makes it fail
    assert case.parting is None and case.max_abs_delta == 0.0
    assert (case.verdict, case.failure, case.pytorch_untokenizable_ids) == ("fail", "divergence", [size + 3])
    report = summarise([case], tolerance_for("fp32"), 8, "test", "ckpt", 0.0)
    assert not report.passed and report.divergences == 1
    message = str(parity_failure(Path("out"), report, "fp32", "kept"))
    assert f"generated id {size + 3}" in message and "past the tokenizer's pieces" in message
