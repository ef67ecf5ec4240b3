"""Merge fidelity: does the merged checkpoint compute the function that was trained?

A QLoRA adapter was fitted against the NF4-dequantized weights of its base; added to the original full-precision
weights it gives another function. Every merge measures how far: the trained model (its base loaded as it was
trained, plus the adapter unmerged) answers each prompt greedily, and the merged checkpoint is compared with it
as parity compares an export with its checkpoint: |delta log p| over the trained model's answer tokens
(teacher forced) and whether the two greedy answers are identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from datasets import Dataset

from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.kinds.model import Fidelity, FidelitySplit
from tmz.train.chat import stop_ids
from tmz.train.model import prepare_for_generation, tokenizer_of
from tmz.train.vision import load_image


def _prompt(
    processing: Any, row: dict[str, Any], root: Path, device: torch.device
) -> dict[str, torch.Tensor]:
    """The encoded user turn of ``row`` (with its image, attention causal as on the device)."""
    tok = tokenizer_of(processing)
    text = tok.apply_chat_template(row["messages"][:1], tokenize=False, add_generation_prompt=True)
    if row.get("image"):
        enc = processing(text=[text], images=[[load_image(str(root / row["image"]))]],
                         add_special_tokens=False, return_tensors="pt")  # fmt: skip
        enc.pop("token_type_ids", None)
    else:
        enc = tok(text, add_special_tokens=False, return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


def _greedy(model: torch.nn.Module, inputs: dict[str, torch.Tensor], stops: list[int], pad: int,
            max_new_tokens: int) -> list[int]:  # fmt: skip
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stops,
                             pad_token_id=pad)  # fmt: skip
    ids = out[0, inputs["input_ids"].shape[1] :].tolist()
    return ids[: next((i for i, t in enumerate(ids) if t in stops), len(ids))]


def _logprobs(model: torch.nn.Module, inputs: dict[str, torch.Tensor], ids: list[int]) -> list[float]:
    """Teacher-forced log-probabilities of ``ids`` after the prompt."""
    if not ids:
        return []
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask")}
    prompt = inputs["input_ids"]
    answer = torch.tensor([ids], dtype=prompt.dtype, device=prompt.device)
    with torch.inference_mode():
        logits = model(input_ids=torch.cat([prompt, answer], dim=1), **extra).logits[0].float()
    rows = torch.log_softmax(logits[prompt.shape[1] - 1 : -1], dim=-1)
    return rows.gather(1, answer[0, :, None]).squeeze(1).tolist()


def measure(
    trained: torch.nn.Module,
    merged: torch.nn.Module,
    processing: Any,
    splits: dict[str, tuple[Dataset, bool]],
    root: Path,
    *,
    reference: str,
    weights: str,
    max_new_tokens: int,
    chat: ChatFormat = GEMMA3,
) -> Fidelity:
    """Compare ``merged`` with ``trained`` on the rows of each split (``splits``: name -> (rows, held out)) of
    the dataset at ``root``."""
    tok = tokenizer_of(processing)
    stops, pad = stop_ids(tok, chat), tok.pad_token_id
    prepare_for_generation(trained)
    prepare_for_generation(merged)
    t_dev, m_dev = next(trained.parameters()).device, next(merged.parameters()).device
    per_split, every = [], []
    for name, (rows, held_out) in splits.items():
        exact, deltas = 0, []
        for row in rows:
            t_in, m_in = _prompt(processing, row, root, t_dev), _prompt(processing, row, root, m_dev)
            ids = _greedy(trained, t_in, stops, pad, max_new_tokens)
            exact += _greedy(merged, m_in, stops, pad, max_new_tokens) == ids
            deltas += [abs(a - b) for a, b in zip(_logprobs(trained, t_in, ids), _logprobs(merged, m_in, ids),
                                                  strict=True)]  # fmt: skip
        per_split.append(FidelitySplit(split=name, held_out=held_out, prompts=len(rows), exact=exact,
                                       tokens=len(deltas), **_summary(deltas)))  # fmt: skip
        every += deltas
    return Fidelity(reference=reference, weights=weights, max_new_tokens=max_new_tokens,
                    prompts=sum(s.prompts for s in per_split), exact=sum(s.exact for s in per_split),
                    splits=per_split, **_summary(every))  # fmt: skip


def _summary(deltas: list[float]) -> dict[str, float]:
    return {"max_abs_delta": round(max(deltas, default=0.0), 6),
            "mean_abs_delta": round(sum(deltas) / len(deltas), 6) if deltas else 0.0}  # fmt: skip
