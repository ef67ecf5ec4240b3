"""Repairs of the model litert-torch 0.10 loads for Gemma 3n's conversion (the backend's ``prepare_export``).

Both were found by running litert-torch's own Gemma 3n prefill/decode modules in PyTorch against transformers'
forward (evidence in the README):

- Activation sparsity: litert-torch's patched ``Gemma3nTextMLP`` (``model_ext/gemma3n/patch.py``) keeps the
  Gaussian top-k's cutoff, ``ndtri(activation_sparsity)``, in a non-persistent buffer ``_std_multiplier`` set in
  ``__init__``. transformers 5 builds the model on the meta device and loads only the checkpoint's tensors, so the
  buffer is left as uninitialised memory (1.9e31 and 1.7e28 measured, instead of 1.645): every sparse layer's
  gate is cut to zero, and the converted model answers differently from the first token on.
- Final logit soft-cap: litert-torch's Gemma 3n decode module returns ``lm_head(hidden)``, without the
  ``final_logit_softcapping`` (30.0) that transformers applies to Gemma 3n's logits.
"""

from __future__ import annotations

import torch


class SoftCappedHead(torch.nn.Module):
    """An output head followed by Gemma's logit soft-cap, ``cap * tanh(logits / cap)``."""

    def __init__(self, head: torch.nn.Module, cap: float) -> None:
        super().__init__()
        self.head = head
        self.cap = cap

    @property
    def weight(self) -> torch.Tensor:  # the tied embedding, as callers of lm_head.weight expect
        return self.head.weight

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(hidden) / self.cap) * self.cap


def fill_sparsity_cutoffs(model: torch.nn.Module) -> int:
    """Set every patched MLP's ``_std_multiplier`` to ``ndtri(activation_sparsity)``; returns how many."""
    filled = 0
    for module in model.modules():
        if hasattr(module, "_std_multiplier") and getattr(module, "activation_sparsity", 0.0) > 0.0:
            # assigning replaces the buffer, a meta one (litert-torch's Converter V2) included
            module._std_multiplier = torch.special.ndtri(
                torch.tensor(module.activation_sparsity, dtype=torch.float32)
            )
            filled += 1
    return filled


def soft_cap_output_head(model: torch.nn.Module) -> bool:
    """Put the text config's ``final_logit_softcapping`` after ``model.lm_head``; whether it did."""
    cap = model.config.get_text_config().final_logit_softcapping
    if not cap or isinstance(model.lm_head, SoftCappedHead):
        return False
    model.lm_head = SoftCappedHead(model.lm_head, float(cap))
    return True


def prepare_export(model: torch.nn.Module) -> None:
    """Both repairs, in place, on the ``Gemma3nForConditionalGeneration`` litert-torch loaded."""
    fill_sparsity_cutoffs(model)
    soft_cap_output_head(model)
