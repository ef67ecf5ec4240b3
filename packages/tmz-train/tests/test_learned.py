"""Training until learned: the margin criterion stops training, recall is checked by generation, and the margins
are what the model computes."""

from pathlib import Path

import pytest
import torch
import transformers

from tmz.core.kinds.adapter import AdapterResults
from tmz.core.manifest import load_manifest
from tmz.train.learned import row_margins
from tmz.train.memorise import MARGIN, TEXT_PAIRS, pair_row

pytestmark = pytest.mark.slow


def adapter_results(model: Path) -> AdapterResults:
    return load_manifest(model.with_name(model.name + ".memorise") / "adapter").results


def test_memorised_model_stopped_once_learned(tiny_text_model):
    results = adapter_results(tiny_text_model)
    learned, recall = results.learned, results.recall
    assert learned.reached and learned.step == results.global_step < 400  # stopped before the cap
    assert (
        learned.margin == MARGIN and learned.min_margin >= MARGIN and learned.checks[-1].share_learned == 1.0
    )
    assert [c.step for c in learned.checks] == list(range(10, learned.step + 1, 10))
    assert recall.split == "train" and recall.exact == recall.rows == len(TEXT_PAIRS) and recall.missed == []
    assert [m.id for m in recall.margins] == [f"m{i}" for i in range(len(TEXT_PAIRS))]
    assert all(m.recalled and m.margin >= MARGIN for m in recall.margins)


def test_row_margins_match_the_logits(tiny_text_model):
    """The margin of a row is its smallest (reference logit - best other logit) over the answer's tokens, computed
    independently here from the merged model."""
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_text_model, dtype=torch.float32).eval()
    tok = transformers.AutoTokenizer.from_pretrained(tiny_text_model)
    rows = [pair_row(i, p) for i, p in enumerate(TEXT_PAIRS)]
    got = row_margins(model, tok, rows, Path("."))
    for row, margin in zip(rows, got, strict=True):
        n = len(tok.apply_chat_template(row["messages"][:1], add_generation_prompt=True, tokenize=True,
                                        return_dict=True)["input_ids"])  # fmt: skip
        ids = tok.apply_chat_template(row["messages"], tokenize=True, return_dict=True)["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        gaps = []
        for pos in range(n, len(ids)):
            scores = logits[pos - 1].clone()
            ref = scores[ids[pos]].item()
            scores[ids[pos]] = float("-inf")
            gaps.append(ref - scores.max().item())
        assert margin == pytest.approx(min(gaps), abs=1e-4)
    assert min(got) >= MARGIN  # the merged model keeps what the adapter learned


def test_an_unlearnable_margin_hits_the_cap_and_says_so(tmp_path):
    from tmz.core.errors import TmzError
    from tmz.train import memorise

    with pytest.raises(TmzError, match="smallest answer-token margin .* raise steps"):
        memorise.build_memorised(tmp_path / "model", steps=3)
