"""LiteRT-LM (tmz .litertlm bundles, int8 and int4) against transformers' CPU `generate` on the same random-weight
gemma-3-1b-it weights: time to first token and decode tokens/s for prompts of about 30, 120 and 500 tokens, and
the ratio LiteRT-LM / transformers (goal: >= 3x).

Needs the checkpoint and exports of bench/export_gemma3_1b.py in --work. Bundles are made with
`tmz.bundle.bundle(export, fmt="litertlm")` and measured with `tmz.runtime.benchmark.benchmark` (greedy, stop tokens
suppressed). transformers runs greedy `generate` with `min_new_tokens == max_new_tokens`, so both decode the same
number of tokens; its prompts are the same tmz-v1 translation requests padded with the same filler words. Each
engine runs alone in a fresh process (peak RSS is per process).

Usage:
    uv run python bench/runtime_vs_transformers.py [--quantizations int8,int4] [--hf-dtypes float32,bfloat16]
        [--prompt-tokens 30,120,500] [--decode-tokens 32] [--repeats 3] [--hf-repeats 2] [--threads 2] [--tag T]

`--tag` names the result files (`runtime_vs_transformers-<tag>.{json,png}`) so earlier runs stay beside it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _machine import machine

from tmz.core.atomic import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results"
#: The filler tmz.runtime.benchmark pads its prompts with (same words, so both engines see the same request).
FILLER = "where is the hospital please help me now "
GOAL = 3.0


def _in_child(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def make_bundles(work: Path, quantizations: list[str]) -> dict[str, Path]:
    """A .litertlm bundle per quantization, into ``work/bundles`` (bundling streams the model: seconds)."""
    from tmz.bundle import bundle

    out = work / "bundles"
    paths = {}
    for q in quantizations:
        print(f"bundling export-{q}", flush=True)
        manifest = bundle(work / f"export-{q}", fmt="litertlm", out=out)
        paths[q] = out / manifest.files[0].path
    return paths


def _hf_prompt(tok: Any, target: int) -> tuple[dict[str, Any], int]:
    """The longest padded translation request whose chat-rendered ids number at most ``target``."""
    from tmz.core.plugins import get_registry
    from tmz.core.prompt import Side, messages

    words, registry = FILLER.split(), get_registry()

    def render(n: int) -> tuple[dict[str, Any], int]:
        text = " ".join(words[i % len(words)] for i in range(n))
        conv = messages(registry, Side("en", "Latn"), Side("zgh", "Tfng"), text)
        enc = tok.apply_chat_template(conv, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return dict(enc), enc["input_ids"].shape[1]

    best = render(1)
    n = 1
    while (found := render(n + 1))[1] <= target:
        best, n = found, n + 1
    return best


def effective_lengths(checkpoint: Path, requested: list[int]) -> list[int]:
    """``requested`` with lengths below the shortest translation request raised to it (BOS excluded)."""
    from transformers import AutoTokenizer

    shortest = _hf_prompt(AutoTokenizer.from_pretrained(checkpoint), 0)[1] - 1
    return sorted({max(n, shortest) for n in requested})


def hf_benchmark(
    checkpoint: Path, dtype: str, prompt_tokens: list[int], decode_tokens: int, repeats: int, threads: int
) -> dict[str, Any]:
    """transformers' greedy CPU generate: median wall TTFT and decode tokens/s per prompt length."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.generation.streamers import BaseStreamer

    class Timestamps(BaseStreamer):
        """Times each ``put``: the first is the prompt, each later one a generated token."""

        def __init__(self) -> None:
            self.times: list[float] = []

        def put(self, value: Any) -> None:
            self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    torch.set_num_threads(threads)
    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=getattr(torch, dtype)).eval()
    load_s = time.perf_counter() - start
    settings = dict(max_new_tokens=decode_tokens, min_new_tokens=decode_tokens, do_sample=False)
    runs = []
    with torch.inference_mode():
        warm, _ = _hf_prompt(tok, 16)
        model.generate(**warm, max_new_tokens=2, do_sample=False)
        for target in prompt_tokens:
            inputs, count = _hf_prompt(tok, target + 1)  # + BOS, which LiteRT-LM's count leaves out
            samples = []
            for _ in range(repeats):
                stamps = Timestamps()
                t0 = time.perf_counter()
                out = model.generate(**inputs, streamer=stamps, **settings)
                total = time.perf_counter() - t0
                decoded = out.shape[1] - count
                first, last = stamps.times[1], stamps.times[-1]
                samples.append({"wall_ttft_s": first - t0, "wall_total_s": total, "decoded_tokens": decoded,
                                "decode_tokens_per_s": (decoded - 1) / (last - first)})  # fmt: skip
            medians = {k: round(statistics.median(s[k] for s in samples), 5) for k in samples[0]}
            runs.append({"requested_tokens": target, "prompt_tokens": count, **medians,
                         "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)})  # fmt: skip
            print(f"transformers {dtype}: {count} prompt tokens: TTFT {medians['wall_ttft_s']:.2f} s, "
                  f"decode {medians['decode_tokens_per_s']:.2f} tok/s", flush=True)  # fmt: skip
    return {"engine": f"transformers {version('transformers')} generate, torch {torch.__version__}, CPU",
            "dtype": dtype, "threads": threads, "load_s": round(load_s, 2), "repeats": repeats, "runs": runs}  # fmt: skip


def ratios(litert: dict[str, Any], hf: dict[str, Any]) -> list[dict[str, Any]]:
    """Per prompt length: LiteRT-LM's speed-up over transformers (TTFT: HF / LiteRT; decode: LiteRT / HF)."""
    by_len = {r["requested_tokens"]: r for r in hf["runs"]}
    out = []
    for r in litert["runs"]:
        h = by_len.get(r["requested_tokens"])
        if h is None:
            continue
        ttft = h["wall_ttft_s"] / r["wall_ttft_s"]
        decode = r["decode_tokens_per_s"] / h["decode_tokens_per_s"]
        total = h["wall_total_s"] / r["wall_total_s"]
        out.append({"requested_tokens": r["requested_tokens"], "ttft_speedup": round(ttft, 2),
                    "decode_speedup": round(decode, 2), "total_speedup": round(total, 2),
                    "meets_goal": ttft >= GOAL and decode >= GOAL})  # fmt: skip
    return out


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [(f"LiteRT-LM {q}", r["runs"]) for q, r in report["litert_lm"].items()]
    series += [(f"transformers {d}", r["runs"]) for d, r in report["transformers"].items()]
    lengths = sorted({run["requested_tokens"] for _, runs in series for run in runs})
    width = 0.8 / max(len(series), 1)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, (label, runs) in enumerate(series):
        by_len = {run["requested_tokens"]: run for run in runs}
        xs = [j + i * width for j, n in enumerate(lengths) if n in by_len]
        axes[0].bar(xs, [by_len[n]["wall_ttft_s"] for n in lengths if n in by_len], width, label=label)
        axes[1].bar(
            xs, [by_len[n]["decode_tokens_per_s"] for n in lengths if n in by_len], width, label=label
        )
    for ax, title in zip(
        axes, ("time to first token (s, lower is better)", "decode tokens/s (higher is better)"), strict=True
    ):
        ax.set_xticks(
            [j + width * (len(series) - 1) / 2 for j in range(len(lengths))], [f"~{n}" for n in lengths]
        )
        ax.set_xlabel("prompt tokens")
        ax.set_yscale("log")
        ax.set_title(title)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(
        f"gemma-3-1b architecture on {report['machine']['cpu_count']} CPU cores ({report['machine']['cpu_model']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("work/bench-gemma3-1b"))
    parser.add_argument("--quantizations", default="int8,int4")
    parser.add_argument("--hf-dtypes", default="float32,bfloat16")
    parser.add_argument("--prompt-tokens", default="30,120,500")
    parser.add_argument("--decode-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="LiteRT-LM runs per prompt (median)")
    parser.add_argument("--hf-repeats", type=int, default=2, help="transformers runs per prompt (median)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args()
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    requested = [int(x) for x in split(args.prompt_tokens)]
    lengths = effective_lengths(args.work / "checkpoint", requested)
    from tmz.core.manifest import load_manifest
    from tmz.runtime.benchmark import benchmark

    prefill = {q: load_manifest(args.work / f"export-{q}", verify=False).settings.prefill_lengths
               for q in split(args.quantizations)}  # fmt: skip

    report: dict[str, Any] = {
        "benchmark": "runtime_vs_transformers",
        "command": " ".join(["uv run python bench/runtime_vs_transformers.py", *sys.argv[1:]]),
        "machine": machine(),
        "model": "gemma-3-1b-it architecture, random weights (bench/export_gemma3_1b.py)",
        "decode_tokens": args.decode_tokens,
        "prompt_tokens": {"requested": requested, "measured": lengths},
        "prefill_lengths": prefill,
        "notes": [
            "a requested length below the shortest tmz-v1 translation request (instruction included) is raised "
            "to that shortest request's length, for both engines",
            "TTFT is wall time from the call (send_message_async / generate) to the first streamed token for "
            "both engines (LiteRT-LM's own counter, ttft_s, is kept beside it); decode tokens/s is LiteRT-LM's "
            "counter and transformers' tokens after the first over the time after the first; total_speedup "
            "compares the wall time of the whole request",
            "LiteRT-LM pads a prompt to its smallest prefill signature that fits (prefill_lengths: the "
            "export's signatures)",
            "LiteRT-LM prompt_tokens exclude BOS, transformers' include it",
        ],
        "goal": f">= {GOAL}x (TTFT and decode) for LiteRT-LM over transformers",
        "litert_lm": {},
        "transformers": {},
        "ratios": {},
    }
    name = f"runtime_vs_transformers-{args.tag}" if args.tag else "runtime_vs_transformers"
    out_json = RESULTS / f"{name}.json"
    for q, path in make_bundles(args.work, split(args.quantizations)).items():
        print(f"LiteRT-LM {path.name}", flush=True)
        report["litert_lm"][q] = _in_child(benchmark, path, prompt_tokens=lengths, decode_tokens=args.decode_tokens,
                                           repeats=args.repeats, threads=args.threads)  # fmt: skip
        for run in report["litert_lm"][q]["runs"]:
            print(f"LiteRT-LM {q}: {run['prompt_tokens']} prompt tokens: TTFT {run['wall_ttft_s']:.2f} s, "
                  f"decode {run['decode_tokens_per_s']:.2f} tok/s", flush=True)  # fmt: skip
        write_text_atomic(out_json, json.dumps(report, indent=2) + "\n")
    for dtype in split(args.hf_dtypes):
        report["transformers"][dtype] = _in_child(hf_benchmark, args.work / "checkpoint", dtype, lengths,
                                                  args.decode_tokens, args.hf_repeats, args.threads)  # fmt: skip
        write_text_atomic(out_json, json.dumps(report, indent=2) + "\n")
    for q, lit in report["litert_lm"].items():
        for dtype, hf in report["transformers"].items():
            report["ratios"][f"litert_lm {q} / transformers {dtype}"] = ratios(lit, hf)
    report["machine"]["load_average_end"] = machine()["load_average"]
    write_text_atomic(out_json, json.dumps(report, indent=2) + "\n")
    plot(report, RESULTS / f"{name}.png")
    print(json.dumps(report["ratios"], indent=2))
    print(f"-> {out_json}")


if __name__ == "__main__":
    main()
