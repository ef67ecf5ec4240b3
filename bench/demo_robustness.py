"""`tmz demo` under other kernels and seeds: does it pass, how many steps did learning take, how did parity go?

Runs the demo in fresh work directories with OMP_NUM_THREADS=1 and 2, with ATEN_CPU_CAPABILITY=avx2 (another
CPU's PyTorch kernels) and unset, and with three seeds, then writes bench/results/demo_robustness-<date>.json.
Usage: uv run python bench/demo_robustness.py [--work work/bench-demo] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

from tmz.core.manifest import load_manifest  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def variants(seeds: list[int]) -> list[dict[str, object]]:
    """Threads x kernels at the first seed, then the other seeds with the defaults."""
    out: list[dict[str, object]] = [
        {"seed": seeds[0], "OMP_NUM_THREADS": threads, "ATEN_CPU_CAPABILITY": capability}
        for threads in ("1", "2")
        for capability in ("avx2", None)
    ]
    out += [{"seed": s, "OMP_NUM_THREADS": "2", "ATEN_CPU_CAPABILITY": None} for s in seeds[1:]]
    return out


def run_one(work: Path, variant: dict[str, object]) -> dict[str, object]:
    """One demo run in a fresh directory; what it learned, its parity report, and the translations' marks."""
    shutil.rmtree(work, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "ATEN_CPU_CAPABILITY")}
    env |= {k: str(v) for k, v in variant.items() if k != "seed" and v is not None}
    env["COLUMNS"] = "200"
    cmd = [
        sys.executable,
        "-c",
        "from tmz.core.cli import main; main()",
        "demo",
        "--workdir",
        str(work),
        "--seed",
        str(variant["seed"]),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = round(time.perf_counter() - start, 1)
    result: dict[str, object] = {**variant, "exit_code": done.returncode, "seconds": seconds}
    if (work / "adapter").is_dir():
        adapter = load_manifest(work / "adapter", verify=False).results
        result["learned"] = {
            k: adapter["learned"][k] for k in ("reached", "step", "min_margin", "share_learned")
        }
        result["recall"] = {k: adapter["recall"][k] for k in ("rows", "exact")}
    if (work / "export").is_dir():
        p = load_manifest(work / "export", verify=False).results.parity
        result["parity"] = {"passed": p.passed, "prompts": p.prompts, "exact": p.exact, "ties": p.ties,
                            "max_abs_delta": p.max_abs_delta, "mean_abs_delta": p.mean_abs_delta}  # fmt: skip
    result["translations_equal"] = done.stdout.count("│ = ")
    result["translations_differ"] = done.stdout.count("│ != ")
    if done.returncode:
        result["stderr_tail"] = done.stderr[-2000:]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("work/bench-demo"))
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    runs = []
    for i, v in enumerate(variants([int(s) for s in args.seeds.split(",")])):
        runs.append(run_one(args.work / f"run-{i}", v))
        print(json.dumps(runs[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"demo_robustness-{date.today()}.json"
    payload = {"benchmark": "demo_robustness", "machine": machine(), "runs": runs,
               "all_passed": all(r["exit_code"] == 0 for r in runs)}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
