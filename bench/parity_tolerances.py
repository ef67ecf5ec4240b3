"""How far LiteRT-LM's log-probabilities stray from PyTorch's for correct exports, and for faulty references.

The measurement behind tmz.export.tolerances (docs/parity.md), made with tmz's own parity check: the demo's model
is exported at fp32, fp16, int8 and int4, then each export is verified (tolerances lifted, so nothing fails)
against its own checkpoint and against tampered copies of it, on the demo's training and held-out prompts. For
each pair it records the token max and mean |delta log p|, the partings and PyTorch's margins there, and whether
the default tolerances pass it. Writes bench/results/parity_tolerances-<date>.json.

Usage: uv run tmz demo && uv run python bench/parity_tolerances.py [--demo work/demo] [--work work/bench-parity]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

from tmz.core.dataset import read_split  # noqa: E402
from tmz.core.manifest import MANIFEST_NAME  # noqa: E402
from tmz.core.plugins import get_registry  # noqa: E402
from tmz.export import export, verify  # noqa: E402
from tmz.export.prompts import ParityPrompt, from_example  # noqa: E402
from tmz.export.tolerances import tolerance_for  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
QUANTIZATIONS = ("fp32", "fp16", "int8", "int4")
Change = Callable[[dict[str, torch.Tensor]], None]


def _scale(suffix: str, factor: float, rows: slice | None = None) -> Change:
    def change(t: dict[str, torch.Tensor]) -> None:
        name = next(k for k in t if k.endswith(suffix))
        w = t[name].clone()
        w[rows or slice(None)] *= factor
        t[name] = w

    return change


def _offset_norms(delta: float) -> Change:
    def change(t: dict[str, torch.Tensor]) -> None:
        for name in [k for k in t if k.endswith("norm.weight")]:
            t[name] = t[name] + delta

    return change


FAULTS: dict[str, Change] = {
    "down_proj x1.5 (uniform; Gemma's post-norm undoes it)": _scale("layers.0.mlp.down_proj.weight", 1.5),
    "gate_proj x1.5": _scale("layers.0.mlp.gate_proj.weight", 1.5),
    "half of down_proj x1.1": _scale("layers.0.mlp.down_proj.weight", 1.1, slice(0, 32)),
    "norms +0.1": _offset_norms(0.1),
    "norms +0.5": _offset_norms(0.5),
    "embeddings x1.05": _scale("embed_tokens.weight", 1.05),
}


def tampered(model: Path, out: Path, change: Change) -> Path:
    """A plain copy of ``model`` with its weights changed."""
    if not out.is_dir():
        shutil.copytree(model, out)
        (out / MANIFEST_NAME).unlink()
        tensors = load_file(out / "model.safetensors")
        change(tensors)
        save_file(tensors, out / "model.safetensors", metadata={"format": "pt"})
    return out


def measure(
    export_dir: Path, reference: Path, prompts: list[ParityPrompt], held_out: set[str], quantization: str
) -> dict:
    """Verify with tolerances lifted; the figures, and whether the default tolerances would pass."""
    lifted = tolerance_for(quantization).override(1e9, 1e9, 1e9)
    report = verify(
        export_dir, model=reference, prompts=prompts, parity_prompts=len(prompts), tolerance=lifted
    )
    default = tolerance_for(quantization)
    out: dict = {}
    for split, cases in (("train", [c for c in report.cases if c.id not in held_out]),
                         ("held_out", [c for c in report.cases if c.id in held_out])):  # fmt: skip
        deltas = [
            abs(a - b) for c in cases for a, b in zip(c.pytorch_logprobs, c.litert_logprobs, strict=True)
        ]
        margins = sorted(round(c.parting.pytorch_margin, 4) for c in cases if c.parting is not None)
        out[split] = {
            "prompts": len(cases), "tokens": len(deltas), "token_max": round(max(deltas, default=0.0), 6),
            "token_mean": round(sum(deltas) / max(len(deltas), 1), 6),
            "prompt_mean_max": round(max((c.mean_abs_delta for c in cases), default=0.0), 6),
            "partings": len(margins), "parting_margins": margins,
        }  # fmt: skip
    failing = [c for c in report.cases if c.max_abs_delta > default.max_abs_delta
               or c.mean_abs_delta > default.mean_abs_delta
               or (c.parting is not None and c.parting.pytorch_margin > default.tie_margin)]  # fmt: skip
    out["default_tolerance_fails"] = bool(failing) or report.mean_abs_delta > default.mean_abs_delta
    out["prompts_failing_by_default"] = len(failing)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--demo", type=Path, default=Path("work/demo"), help="a finished `tmz demo` work directory"
    )
    ap.add_argument("--work", type=Path, default=Path("work/bench-parity"))
    args = ap.parse_args()
    model = args.demo / "model"
    data, registry = args.demo / "data", get_registry()
    train, test = read_split(data, "train"), read_split(data, "test")
    prompts = [from_example(registry, ex, data) for ex in train + test]
    held_out = {ex.id for ex in test}
    exports = {"int8": args.demo / "export"}
    for q in QUANTIZATIONS:
        if q not in exports:
            exports[q] = args.work / f"export-{q}"
            if not (exports[q] / MANIFEST_NAME).is_file():
                export(model, exports[q], quantization=q, prefill_lengths=[64], kv_cache=256, parity=False)
    references = {"correct": model}
    references |= {
        name: tampered(model, args.work / f"ref-{i}", change)
        for i, (name, change) in enumerate(FAULTS.items())
    }
    runs = []
    for q, export_dir in exports.items():
        for name, ref in references.items():
            runs.append({"export": q, "reference": name, **measure(export_dir, ref, prompts, held_out, q)})
            print(json.dumps(runs[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"parity_tolerances-{date.today()}.json"
    tolerances = {q: {k: v for k, v in vars(tolerance_for(q)).items()} for q in QUANTIZATIONS}
    payload = {"benchmark": "parity_tolerances", "machine": machine(), "tolerances": tolerances, "runs": runs}
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
