"""Parity on a model whose vocabulary outgrows its tokenizer (Gemma 3n: 262,400 ids, 262,144 SentencePiece pieces;
the rest are image and audio soft tokens). An answer with such an id used to crash the check (SentencePiece's
``decode``: IndexError, piece id is out of range); it is now compared up to that id and fails as a divergence
that the report and the error name."""

from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from tmz.core.plugins import get_registry
from tmz.export.diagnosis import parity_failure
from tmz.export.parity import (
    Comparison,
    LiteRtAnswer,
    TorchAnswer,
    TorchEngine,
    split_untokenizable,
    summarise,
)
from tmz.export.prompts import builtin
from tmz.export.tolerances import tolerance_for
from tmz.train.tiny import train_sentencepiece


@pytest.fixture(scope="module")
def sp() -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(
        model_proto=train_sentencepiece(["where is the hospital", "abc"], vocab_size=300)
    )


@pytest.fixture
def prompt(tmp_path):
    return builtin(get_registry(), False, tmp_path, (8, 8))[0]


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


class _FakeTorch:
    """PyTorch's side after answer(): a confident answer, teacher-forced rows that agree with it."""

    def __init__(self, answer: TorchAnswer, vocab: int) -> None:
        self._answer, self.vocab, self.stop = answer, vocab, [1]

    def answer(self, registry, prompt, image):
        return self._answer

    def logprobs(self, answer, ids):
        rows = torch.full((len(ids) + 1, self.vocab), -20.0)
        for i, t in enumerate(ids):
            rows[i, t] = -0.01
        return rows

    def stop_logprob(self, row):
        return float(torch.logsumexp(row[self.stop], dim=0))


class _FakeLite:
    def __init__(self, sp, text: str, steps: int) -> None:
        self.sp, self.text, self.steps, self.caps = sp, text, steps, []

    def answer(self, registry, prompt, image, max_new_tokens=None):
        self.caps.append(max_new_tokens)
        return LiteRtAnswer(self.text, len(self.sp.encode("abc")) + 1, self.steps)  # the prompt, BOS

    def tokenize(self, text):
        return self.sp.encode(text)

    def score(self, prompt_text, target):
        return [-0.01] * len(self.sp.encode(target))


def _case(sp, prompt, untokenizable: list[int]):
    word = sp.encode("where")
    answer = TorchAnswer([2, *sp.encode("abc")], "abc", word, "where", len(word) + 2, {}, untokenizable)
    lite = _FakeLite(sp, "where", len(word) + 2)
    compare = Comparison(_FakeTorch(answer, sp.get_piece_size() + 16), lite, sp, tolerance_for("fp32"))
    case = compare.run(get_registry(), prompt, None, None)
    # LiteRT-LM fails a whole answer on such an id: it is asked for the answer up to it only
    assert lite.caps == [len(word) if untokenizable else None]
    return case


def test_soft_token_answer_is_a_divergence_the_report_names(sp, prompt):
    size = sp.get_piece_size()
    clean = _case(sp, prompt, [])
    assert clean.failure is None and clean.pytorch_untokenizable_ids == []
    case = _case(sp, prompt, [size + 3])
    # same text on both sides, scores agree: only the soft-token id makes it fail
    assert case.parting is None and case.max_abs_delta == 0.0
    assert (case.verdict, case.failure, case.pytorch_untokenizable_ids) == ("fail", "divergence", [size + 3])
    report = summarise([case], tolerance_for("fp32"), 8, "test", "ckpt", 0.0)
    assert not report.passed and report.divergences == 1
    message = str(parity_failure(Path("out"), report, "fp32", "kept"))
    assert f"generated id {size + 3}" in message and "past the tokenizer's pieces" in message
