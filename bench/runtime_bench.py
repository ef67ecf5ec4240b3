"""Benchmark bundles on LiteRT-LM (CPU): time to first token, prefill and decode tokens/s, peak RSS.

Each bundle runs in a fresh process (peak RSS is per process); its JSON lands in bench/results/.

Usage:
    uv run python bench/runtime_bench.py BUNDLE [BUNDLE ...] [--prompt-tokens 32,128,512] [--decode-tokens 32]
        [--activation default,float32,float16,int8] [--tag TAG]

Several activation data types run one after another (``default``: the engine's own); each gets its own JSON
(``runtime_<bundle>[-act_<type>][-<tag>].json``, with the machine and its load average before and after).

Example:
    uv run python bench/runtime_bench.py /tmp/prefill-1b/bundles/gemma3-1b-text-tmz_q4_ekv1024.litertlm \\
        --prompt-tokens 58,77 --threads 2 --tag ladder7
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from _machine import machine

from tmz.core.atomic import write_text_atomic
from tmz.runtime.benchmark import benchmark

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--prompt-tokens", default="32,128,512", help="comma-separated prompt lengths")
    parser.add_argument("--decode-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--activation", default="default", help="comma-separated LiteRT-LM activation types")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--tag", default="", help="suffix of the result file names")
    args = parser.parse_args()
    lengths = [int(x) for x in args.prompt_tokens.split(",") if x.strip()]
    activations = [x.strip() for x in args.activation.split(",") if x.strip()]
    for bundle, activation in [(b, a) for b in args.bundles for a in activations]:
        before = machine()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            report = pool.submit(
                benchmark, bundle, prompt_tokens=lengths, decode_tokens=args.decode_tokens,
                repeats=args.repeats, threads=args.threads,
                activation=None if activation == "default" else activation,
            ).result()  # fmt: skip
        report["recorded"] = datetime.now(UTC).isoformat(timespec="seconds")
        report["host"] = {**before, "load_average_after": machine()["load_average"]}
        options = [a for a in sys.argv[1:] if Path(a) not in args.bundles]
        report["command"] = " ".join(["uv run python bench/runtime_bench.py", bundle.name, *options])
        suffix = ("" if activation == "default" else f"-act_{activation}") + (
            f"-{args.tag}" if args.tag else ""
        )
        out = args.out_dir / f"runtime_{bundle.name.replace('.', '_')}{suffix}.json"
        write_text_atomic(out, json.dumps(report, indent=2) + "\n")
        for run in report["runs"]:
            print(f"{bundle.name} ({activation}): {run['prompt_tokens']} prompt tokens: TTFT {run['ttft_s'] * 1000:.1f} ms, "
                  f"prefill {run['prefill_tokens_per_s']:.0f} tok/s, decode {run['decode_tokens_per_s']:.0f} tok/s, "
                  f"peak RSS {run['peak_rss_mib']:.0f} MiB")  # fmt: skip
        print(f"-> {out}")


if __name__ == "__main__":
    main()
