"""Benchmark of `tmz data prepare` on synthetic rows: rows/s and peak RSS, written to bench/results/.

The rows are generated (random syllables in English-like Latin and in Tifinagh), not real sentences.
Usage: uv run python bench/data_prepare.py [--rows 1000000] [--work work/bench-data] [--suffix b]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import shutil
import sys
import threading
import time
from datetime import date
from importlib.metadata import version
from pathlib import Path

#: Goals of issue 19 (reported against, never asserted).
GOAL_ROWS_PER_SECOND, GOAL_PEAK_RSS_MIB = 20_000, 1536
LATIN = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "fa", "po", "ba", "ge", "hu", "ja", "we"]
TIFINAGH = list("ⴰⴱⴳⴷⴹⴻⴼⴽⵀⵃⵄⵅⵇⵉⵊⵍⵎⵏⵓⵔⵕⵖⵙⵚⵛⵜⵟⵡⵢⵣⵥ")


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """A long-format csv of ``rows`` synthetic English -> Tamazight (Tifinagh) pairs, all distinct."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text", "domain"])
        for i in range(rows):
            n = rng.randint(3, 12)
            en = " ".join("".join(rng.choices(LATIN, k=rng.randint(1, 3))) for _ in range(n)) + f" {i}."
            zgh = " ".join("".join(rng.choices(TIFINAGH, k=rng.randint(2, 7))) for _ in range(n)) + f" {i}."
            w.writerow(
                ["English", "Tamazight (Tifinagh)", en.capitalize(), zgh, rng.choice(["daily", "news"])]
            )


class MemorySampler(threading.Thread):
    """Peak anonymous and file-backed RSS (/proc/self/status), sampled every 0.2 s.

    Memory-mapped Arrow files count in RSS as file-backed pages the kernel can drop; anonymous memory is
    what the process itself holds.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in self.peak:
                        self.peak[key] = max(self.peak[key], int(value.split()[0]))


def machine() -> dict:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = {p: version(p) for p in ("tmz-data", "tmz-core", "datasets", "pyarrow", "numpy", "scipy")}
    return {
        "cpu_count": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],  # shared CPU: other work skews timings
        "python": sys.version.split()[0],
        "packages": versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("work/bench-data"))
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--suffix", default="", help="after the date in the result's name: a second run that day"
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = args.work / "synthetic.csv"
    t0 = time.perf_counter()
    generate(corpus, args.rows)
    generated = time.perf_counter() - t0

    from tmz.data import prepare

    sampler = MemorySampler()
    sampler.start()
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    manifest = prepare(corpus, args.work / "dataset", progress=True, license="CC0-1.0")
    seconds = time.perf_counter() - t0
    load_end = os.getloadavg()
    sampler.done.set()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = manifest.results.rows
    result = {
        "benchmark": "data_prepare",
        "date": date.today().isoformat(),
        "label": f"{date.today().isoformat()}{args.suffix}",
        "command": f"python bench/data_prepare.py --rows {args.rows}"
        + (f" --suffix {args.suffix}" if args.suffix else ""),
        "rows": rows.read,
        "accepted": rows.accepted,
        "rejected": rows.rejected,
        "examples": manifest.results.examples.total,
        "corpus_bytes": corpus.stat().st_size,
        "generate_seconds": round(generated, 1),
        "prepare_seconds": round(seconds, 1),
        "rows_per_second": round(rows.read / seconds, 1),
        "examples_per_second": round(manifest.results.examples.total / seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "peak_rss_anon_mib": round(sampler.peak["RssAnon"] / 1024, 1),
        "peak_rss_file_mib": round(sampler.peak["RssFile"] / 1024, 1),
        "goals": {"rows_per_second": GOAL_ROWS_PER_SECOND, "peak_rss_mib": GOAL_PEAK_RSS_MIB},
        "load_average_start": [round(x, 2) for x in load_start],  # 1, 5, 15 minutes (os.getloadavg)
        "load_average_end": [round(x, 2) for x in load_end],
        "machine": machine(),
        "note": "synthetic generated rows (long csv, English -> zgh Tifinagh), each expanded to both directions; "
        "peak RSS of the whole process (Python, datasets and pyarrow included); peak_rss_file_mib is "
        "file-backed pages (libraries, memory-mapped Arrow files), peak_rss_anon_mib is heap",
    }
    args.results.mkdir(parents=True, exist_ok=True)
    target = args.results / f"data_prepare-{result['label']}.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    plot(args.results, target.with_suffix(".png"))
    shutil.rmtree(args.work / "dataset", ignore_errors=True)


def plot(results: Path, target: Path) -> None:
    """Rows/s and peak RSS of every ``data_prepare-*.json`` in ``results`` (oldest first) against the goals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("data_prepare-*.json"))]
    labels = [f"{r.get('label', r['date'])}\n{r['rows']:,} rows" for r in runs]
    fig, (speed, memory) = plt.subplots(1, 2, figsize=(10, 4))
    speed.bar(labels, [r["rows_per_second"] for r in runs], color="tab:blue")
    speed.axhline(
        GOAL_ROWS_PER_SECOND, color="tab:green", linestyle="--", label=f"goal {GOAL_ROWS_PER_SECOND:,}"
    )
    speed.set_ylabel("rows/s (higher is better)")
    memory.bar(labels, [r["peak_rss_mib"] for r in runs], color="tab:orange")
    memory.axhline(
        GOAL_PEAK_RSS_MIB, color="tab:green", linestyle="--", label=f"goal {GOAL_PEAK_RSS_MIB:,} MiB"
    )
    memory.set_ylabel("peak RSS, MiB (ru_maxrss; lower is better)")
    for ax, key in ((speed, "rows_per_second"), (memory, "peak_rss_mib")):
        for i, r in enumerate(runs):
            load = r.get("load_average_start", r["machine"].get("load_average", ["?"]))[0]
            ax.annotate(f"{r[key]:,.0f}\nload {load}", (i, r[key]), ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, 1.2 * max([*(r[key] for r in runs), ax.get_ylim()[1]]))
        ax.legend(loc="upper right")
    fig.suptitle("tmz data prepare, synthetic corpus (2-core shared VM)")
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
