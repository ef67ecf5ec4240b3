"""Training until learned: stop once every answer token of the training rows leads its runner-up by a margin.

The margin is the teacher-forced gap between the logit of the reference token and the largest other logit, at
every token the loss counts (the answer and the end of its turn). A gap above the numerical noise of the device
engine (fp16 activations, int8 weights) means greedy decoding reproduces the answer on any CPU and in LiteRT-LM
alike; a tiny model trained for a fixed number of steps may instead end on near-ties that another machine's
kernels flip. ``max_steps`` stays the cap. After training, :func:`recall` checks the rows through the real
generation path, and the per-row margins say which phrases were learned best.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from tmz.core.kinds.adapter import Learned, LearnedCheck, Recall, RowRecall
from tmz.train.model import tokenizer_of
from tmz.train.vision import IGNORE_INDEX, VisionCollator

log = logging.getLogger("tmz.train")


def _text_batch(tok: Any, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Right-padded ids of each row's whole conversation, labels on the answer only (as the SFT loss counts)."""
    seqs, starts = [], []
    for r in rows:
        prompt = tok.apply_chat_template(r["messages"][:1], add_generation_prompt=True, tokenize=True,
                                         return_dict=True)["input_ids"]  # fmt: skip
        seqs.append(tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
        starts.append(len(prompt))
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), tok.pad_token_id)
    labels = torch.full((len(seqs), width), IGNORE_INDEX)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (seq, start) in enumerate(zip(seqs, starts, strict=True)):
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, start : len(seq)] = torch.tensor(seq[start:])
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def row_margins(
    model: torch.nn.Module, processing: Any, rows: Any, root: Path, batch_size: int = 16
) -> list[float]:
    """For each row, the smallest teacher-forced margin over its answer tokens (negative: a token is wrong)."""
    rows = list(rows)
    vision = hasattr(processing, "image_processor")
    collate = VisionCollator(processing) if vision else None
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[float] = []
    try:
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                if collate is not None:
                    examples = [{"messages": r["messages"], "image": str(root / r["image"]) if r.get("image") else None}
                                for r in chunk]  # fmt: skip
                    batch = collate(examples)
                else:
                    batch = _text_batch(tokenizer_of(processing), chunk)
                batch = {k: v.to(device) for k, v in batch.items()}
                labels = batch.pop("labels")[:, 1:]
                logits = model(**batch).logits[:, :-1].float()
                safe = labels.clamp(min=0)
                ref = logits.gather(2, safe[..., None]).squeeze(-1)
                others = logits.scatter(2, safe[..., None], float("-inf")).max(dim=-1).values
                margin = (ref - others).masked_fill(labels == IGNORE_INDEX, float("inf"))
                out += margin.min(dim=1).values.tolist()
    finally:
        model.train(was_training)
    return out


@dataclass
class UntilLearned(TrainerCallback):
    """Every ``every`` optimizer steps, measure the training rows' margins (``measure(model)``: one per row); stop
    training when the smallest reaches ``margin``."""

    margin: float
    every: int
    measure: Any
    checks: list[LearnedCheck] = field(default_factory=list)
    reached_at: int | None = None
    last: list[float] = field(default_factory=list)

    def check(self, model: torch.nn.Module, step: int) -> LearnedCheck:
        """Measure the margins now: the smallest one and the share of rows at or above the target."""
        self.last = self.measure(model)
        share = sum(m >= self.margin for m in self.last) / len(self.last)
        done = LearnedCheck(step=step, min_margin=round(min(self.last), 4), share_learned=round(share, 4))
        self.checks.append(done)
        log.warning("step %d: smallest answer margin %.3f; %.1f%% of %d rows at or above %.2f", step,
                    done.min_margin, 100 * done.share_learned, len(self.last), self.margin)  # fmt: skip
        return done

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        due = state.global_step % self.every == 0 or state.global_step >= state.max_steps
        if due and self.check(kwargs["model"], state.global_step).min_margin >= self.margin:
            self.reached_at = state.global_step
            control.should_training_stop = True
        return control

    def report(self) -> Learned:
        """What the adapter manifest records (``results.learned``)."""
        last = self.checks[-1] if self.checks else None
        return Learned(
            margin=self.margin,
            reached=self.reached_at is not None,
            step=self.reached_at,
            min_margin=last.min_margin if last else None,
            share_learned=last.share_learned if last else None,
            checks=list(self.checks),
        )


def recall(split: str, rows: Any, hypotheses: list[str], margins: list[float]) -> Recall:
    """Exact recall of the rows of ``split`` by greedy generation, with each row's margin (in order)."""
    rows = list(rows)
    exact = [h == r["target_text"] for r, h in zip(rows, hypotheses, strict=True)]
    return Recall(
        split=split,
        rows=len(rows),
        exact=sum(exact),
        missed=[r["id"] for r, ok in zip(rows, exact, strict=True) if not ok],
        margins=[
            RowRecall(id=r["id"], recalled=ok, margin=round(m, 4))
            for r, ok, m in zip(rows, exact, margins, strict=True)
        ],
    )
