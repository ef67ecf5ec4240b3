"""How far LiteRT-LM's log-probabilities may stray from PyTorch's before parity fails, per quantization.

Chosen by measurement (docs/parity.md): the |delta log p| of correct exports of a tiny Gemma 3 (fp32, fp16, int8,
int4; learned and unlearned prompts; PyTorch's own greedy answers) against those of exports compared with a
tampered checkpoint (one layer's weights scaled, norm weights offset, embeddings scaled). Each tolerance is the
worst correct value times a safety factor of 2 to 40; ``tie_margin`` (the PyTorch margin under which a parting of
the greedy answers counts as a rounding tie) is about twice the largest margin seen at a parting of a correct
export. What each quantization can and cannot tell from its own noise is in docs/parity.md: fp32 catches every
fault that changes the model, int8 the gross ones (norm offsets), int4 on a 64-wide model only the grossest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Tolerance:
    """``max_abs_delta``: per prompt, the largest |delta log p| of one token; ``mean_abs_delta``: over every scored
    token of every prompt; ``tie_margin``: PyTorch's margin at a parting at or below which it is a tie."""

    max_abs_delta: float
    mean_abs_delta: float
    tie_margin: float
    source: str
    #: Relative error of the exported vision encoder's features: measured 1-2% (int8) for a correct export,
    #: 64-91% with the pixel normalisation left out.
    vision_encoder: float = 0.1

    def override(self, max_abs_delta: float | None = None, mean_abs_delta: float | None = None,
                 tie_margin: float | None = None) -> Tolerance:  # fmt: skip
        """This tolerance with the given values replaced (the source then says so)."""
        changes = {k: v for k, v in (("max_abs_delta", max_abs_delta), ("mean_abs_delta", mean_abs_delta),
                                     ("tie_margin", tie_margin)) if v is not None}  # fmt: skip
        return replace(self, **changes, source=f"{self.source}; overridden: {changes}") if changes else self


def _measured(max_abs: float, mean_abs: float, tie: float, quantization: str) -> Tolerance:
    return Tolerance(
        max_abs, mean_abs, tie, f"tmz-export measured default for {quantization} (docs/parity.md)"
    )


#: Defaults set above the worst correct values measured on the tiny Gemma 3 (train and held-out prompts,
#: PyTorch's greedy answers); the measurements are recorded in bench/results/parity_tolerances-*.json
#: (bench/parity_tolerances.py) and tabulated in docs/parity.md.
TOLERANCES: dict[str, Tolerance] = {
    "fp32": _measured(1e-3, 1e-4, 1e-3, "fp32"),
    "fp16": _measured(0.1, 0.01, 0.05, "fp16"),
    "int8": _measured(3.0, 0.2, 3.0, "int8"),
    "int4": _measured(20.0, 3.0, 12.0, "int4"),
}


def tolerance_for(quantization: str) -> Tolerance:
    """The default tolerance of an export's quantization."""
    return TOLERANCES[quantization]
