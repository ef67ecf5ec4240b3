"""Image + text training: the collator (loss on the answer only, causal attention)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

IGNORE_INDEX = -100


def load_image(path: str) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def render(processor: Any, conversation: list[dict[str, Any]], generation_prompt: bool) -> str:
    return processor.apply_chat_template(
        conversation, tokenize=False, add_generation_prompt=generation_prompt
    )


@dataclass
class VisionCollator:
    """Batches ``{"messages", "image"}`` rows (image: a path, or None for a text row) for a Gemma 3 processor.

    Labels keep only the assistant's answer (``<end_of_turn>`` included): prompt, image and padding tokens are
    -100. ``token_type_ids`` are dropped, so attention stays causal as on the device (HF would otherwise let
    image tokens attend bidirectionally).
    """

    processor: Any
    max_length: int | None = None

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        tok = self.processor.tokenizer
        texts, answers, images = [], [], []
        for ex in examples:
            prompt = render(self.processor, ex["messages"][:1], generation_prompt=True)
            full = render(self.processor, ex["messages"], generation_prompt=False)
            texts.append(full)
            answers.append(len(tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]))
            images.append([load_image(ex["image"])] if ex.get("image") else [])
        batch = self.processor(
            text=texts,
            images=images if any(images) else None,
            padding=True,
            padding_side="right",
            add_special_tokens=False,
            return_tensors="pt",
        )
        batch.pop("token_type_ids", None)
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        for i, n in enumerate(answers):
            end = int(batch["attention_mask"][i].sum())
            labels[i, end - n : end] = batch["input_ids"][i, end - n : end]
        if self.max_length is not None:
            batch = {k: v[:, : self.max_length] if k != "pixel_values" else v for k, v in batch.items()}
            labels = labels[:, : self.max_length]
        batch["labels"] = labels
        return dict(batch)
