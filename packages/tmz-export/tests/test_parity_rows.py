"""Parity's teacher-forced rows: the LM head runs only on the positions after the prompt, and each prompt's rows
(one vocabulary-wide row per answer token, 1 MiB each at Gemma's 262,144 pieces) wait for LiteRT-LM in a
memory-mapped file, not in memory (issue 19: they grew the PyTorch phase of the 1B export by ~0.5 GiB a prompt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch

from tmz.core.plugins import get_registry
from tmz.export import parity
from tmz.export.api import verify
from tmz.export.checkpoint import open_checkpoint
from tmz.export.prompts import builtin
from tmz.export.tolerances import tolerance_for


def mapped_file(tensor: torch.Tensor) -> Path | None:
    """The file whose mapping holds ``tensor``'s data (Linux ``/proc/self/maps``), None for anonymous memory."""
    ptr = tensor.data_ptr()
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if lo <= ptr < hi:
            return Path(fields[5].strip()) if len(fields) > 5 and fields[5].startswith("/") else None
    return None


def test_spilled_rows_are_the_same_values_read_from_a_file(tmp_path):
    rows = torch.log_softmax(torch.randn(5, 3000), dim=-1)
    kept = parity.spilled(rows, tmp_path)
    assert torch.equal(kept, rows) and kept.dtype == rows.dtype
    assert mapped_file(kept).parent == tmp_path
    assert mapped_file(rows) is None  # the original was ordinary memory


def test_a_spilled_reference_compares_as_one_in_memory(engines, sp, prompt, tmp_path):
    answer = parity.TorchAnswer([2, 5], "abc", sp.encode("where is"), "where is", 3, {})
    lite = engines.Lite(sp, "where is the", 4, logprob=-0.5)
    cases = []
    for spill in (None, tmp_path):
        compare = parity.Comparison(engines.Torch(answer, sp.get_piece_size()), lite, sp, tolerance_for("fp32"),
                                    spill=spill)  # fmt: skip
        cases.append(
            compare.compare(get_registry(), prompt, compare.reference(get_registry(), prompt, None), None)
        )
    assert list(tmp_path.glob("rows-*.pt"))
    assert cases[0] == cases[1] and cases[0].parting is not None  # the parting read a spilled row


@pytest.mark.slow
def test_rows_after_the_prompt_equal_the_full_forwards(tiny_text_model):
    ckpt = open_checkpoint(tiny_text_model)
    sp = spm.SentencePieceProcessor(model_file=str(ckpt.tokenizer_file))
    engine = parity.TorchEngine(ckpt, sp, 8, 128)
    registry = get_registry()
    for prompt in builtin(registry, False, Path("."), (8, 8))[:3]:
        answer = engine.answer(registry, prompt, None)
        ids = sp.encode(answer.text)
        rows = engine.logprobs(answer, ids)
        full = torch.tensor([answer.prompt_ids + ids])
        with torch.inference_mode():
            logits = engine.model(input_ids=full).logits[0, len(answer.prompt_ids) - 1 :]
        assert rows.shape == (len(ids) + 1, engine.model.config.vocab_size)
        torch.testing.assert_close(rows, torch.log_softmax(logits, dim=-1), rtol=0, atol=1e-5)


@pytest.mark.slow
def test_verify_keeps_every_reference_in_a_file(tiny_text_export_fp32, monkeypatch):
    mapped: list[Path | None] = []
    reference = parity.Comparison.reference

    def record(self, *args, **kwargs):
        ref = reference(self, *args, **kwargs)
        mapped.append(mapped_file(ref.rows))
        return ref

    monkeypatch.setattr(parity.Comparison, "reference", record)
    report = verify(tiny_text_export_fp32, parity_prompts=3)
    assert report.passed and len(mapped) == 3
    assert all(p is not None and p.parent.name.startswith("tmz-parity-") for p in mapped)
