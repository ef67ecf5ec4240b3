"""Plot of the short-request TTFT experiments (issue 19 item 3) against the goal, from the recorded JSONs.

Reads ``runtime_<bundle>-<tag>.json`` (bench/runtime_bench.py: fresh prefill at 58 tokens and at a six-word
request) and ``prefix_cache-<tag>.json`` (bench/prefix_cache.py: instruction prefilled once and cloned) for each
``--tags`` (one per prefill ladder) and draws them side by side with each run's load average.

Usage:
    uv run python bench/prefill_plot.py [--tags ladder5,ladder7] [--goal 0.15]

Example:
    uv run python bench/prefill_plot.py --tags ladder5,ladder7   # -> bench/results/prefill_ttft.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BUNDLE = "gemma3-1b-text-tmz_q4_ekv1024_litertlm"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tags", default="ladder5,ladder7")
    parser.add_argument("--goal", type=float, default=0.15, help="TTFT goal (s)")
    parser.add_argument("--out", type=Path, default=RESULTS / "prefill_ttft.png")
    args = parser.parse_args()
    tags = [t.strip() for t in args.tags.split(",") if t.strip()]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    width = 0.8 / len(tags)
    for i, tag in enumerate(tags):
        fresh = json.loads((RESULTS / f"runtime_{BUNDLE}-{tag}.json").read_text())
        cache = json.loads((RESULTS / f"prefix_cache-{tag}.json").read_text())["bundles"][0]
        load = fresh["host"]["load_average"][0]
        runs = fresh["runs"]
        xs = [j + i * width for j in range(len(runs))]
        axes[0].bar(xs, [r["wall_ttft_s"] for r in runs], width, label=f"{tag} (load {load:.1f})")
        axes[0].set_xticks([j + width * (len(tags) - 1) / 2 for j in range(len(runs))],
                           [f"{r['prompt_tokens']} tokens" for r in runs])  # fmt: skip
        ways = cache["ways"]
        xs = [j + i * width for j in range(len(ways))]
        axes[1].bar(xs, [w["ttft_s"] for w in ways.values()], width,
                    label=f"{tag} (load {cache['load_average_before'][0]:.1f})")  # fmt: skip
        axes[1].set_xticks([j + width * (len(tags) - 1) / 2 for j in range(len(ways))],
                           [f"{k}\n({w['prefill_tokens']:.0f} prefilled)" for k, w in ways.items()],
                           fontsize=7)  # fmt: skip
        sweep = cache["clone_suffix_sweep"]
        axes[2].plot([s["suffix_tokens"] for s in sweep], [s["ttft_s"] for s in sweep], "o-", label=tag)
    axes[0].set_title("fresh conversation, TTFT (s)")
    axes[1].set_title("six-word request: fresh vs instruction cloned, TTFT (s)")
    axes[2].set_title("cloned prefix + N suffix tokens, TTFT (s)")
    axes[2].set_xlabel("suffix tokens prefilled after the clone")
    axes[2].set_ylim(bottom=0)
    for ax in axes:
        ax.axhline(args.goal, color="k", linestyle="--", label=f"goal {args.goal:g} s")
        ax.legend(fontsize=7)
    fig.suptitle(
        "gemma-3-1b int4 (random weights, bench tokenizer), LiteRT-LM CPU, 2 threads on 2 shared cores"
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
