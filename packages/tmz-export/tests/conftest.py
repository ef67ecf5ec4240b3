"""Stand-ins for the two engines of the parity comparison, and a small tokenizer and prompt to drive it with."""

from types import SimpleNamespace

import pytest
import sentencepiece as spm
import torch

from tmz.core.plugins import get_registry
from tmz.export.parity import LiteRtAnswer, TorchAnswer
from tmz.export.prompts import builtin
from tmz.train.tiny import train_sentencepiece


class FakeTorch:
    """PyTorch's side after answer(): its answer, teacher-forced rows giving each answer token ``logprob`` (every
    other token and the stop: -20)."""

    def __init__(self, answer: TorchAnswer, vocab: int, logprob: float = -0.01) -> None:
        self._answer, self.vocab, self.logprob, self.stop = answer, vocab, logprob, [1]

    def answer(self, registry, prompt, image):
        return self._answer

    def logprobs(self, answer, ids):
        rows = torch.full((len(ids) + 1, self.vocab), -20.0)
        for i, t in enumerate(ids):
            rows[i, t] = self.logprob
        return rows

    def stop_logprob(self, row):
        return float(torch.logsumexp(row[self.stop], dim=0))


class FakeLite:
    """LiteRT-LM's side: its text and decode steps, the same score ``logprob`` for every token, and the
    ``max_new_tokens`` each answer was asked with (``caps``)."""

    def __init__(self, sp, text: str, steps: int, logprob: float = -0.01) -> None:
        self.sp, self.text, self.steps, self.logprob, self.caps = sp, text, steps, logprob, []

    def answer(self, registry, prompt, image, max_new_tokens=None):
        self.caps.append(max_new_tokens)
        return LiteRtAnswer(self.text, len(self.sp.encode("abc")) + 1, self.steps)  # the prompt, BOS

    def tokenize(self, text):
        return self.sp.encode(text.split("\0", 1)[0])  # a C string, as LiteRT-LM 0.18.1 reads it

    def score(self, prompt_text, target):
        return [self.logprob] * len(self.tokenize(target))


@pytest.fixture
def engines() -> SimpleNamespace:
    """The stand-in engines: ``engines.Torch(answer, vocab, logprob)``, ``engines.Lite(sp, text, steps, logprob)``."""
    return SimpleNamespace(Torch=FakeTorch, Lite=FakeLite)


@pytest.fixture(scope="module")
def sp() -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(
        model_proto=train_sentencepiece(["where is the hospital", "abc"], vocab_size=300)
    )


@pytest.fixture
def prompt(tmp_path):
    return builtin(get_registry(), False, tmp_path, (8, 8))[0]
