"""A description of the machine a benchmark ran on, for every result JSON, and a child-process runner that
reports the child's wall time and peak RSS."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "torch", "transformers", "litert-torch", "litert-lm-api", "ai-edge-quantizer", "tensorflow-cpu", "tf-nightly",
)  # fmt: skip


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_features() -> list[str]:
    """The vector extensions that decide which kernels PyTorch and LiteRT-LM pick."""
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        flags = []
    return [w for w in wanted if w in flags]


def _versions(packages: tuple[str, ...]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def machine(packages: tuple[str, ...] = PACKAGES) -> dict:
    """CPU model and count, memory, OS, Python, package versions, load average and the date (UTC)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_features": _cpu_features(),
        "memory_gib": round(memory / 2**30, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": _versions(packages),
        "load_average": [
            round(x, 2) for x in os.getloadavg()
        ],  # the machine is shared: other work skews timings
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _sample(pid: int, start: float, every: float, samples: list[dict], done: threading.Event) -> None:
    """Append ``{"s", "rss_mib": {pid: MiB}}`` for ``pid`` and its descendants every ``every`` seconds."""
    import psutil

    root = psutil.Process(pid)
    while not done.wait(every):
        rss: dict[str, float] = {}
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    rss[f"{proc.pid} {proc.name()}"] = round(proc.memory_info().rss / 2**20, 1)
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return
        samples.append({"s": round(time.perf_counter() - start, 1), "rss_mib": rss})


def run_measured(cmd: list[str], cwd: Path | None = None, trace_every: float | None = None) -> dict:
    """Run ``cmd`` to completion; its exit code, wall seconds and peak RSS (MiB, ``ru_maxrss`` of the child and
    its descendants as reported by ``wait4``). With ``trace_every``, also ``trace``: the RSS of the child and of
    each of its descendants (psutil) sampled every ``trace_every`` seconds. Output goes to this process's
    stdout/stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd)
    samples: list[dict] = []
    done = threading.Event()
    sampler = None
    if trace_every:
        sampler = threading.Thread(
            target=_sample, args=(proc.pid, start, trace_every, samples, done), daemon=True
        )
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "returncode": proc.returncode,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }
    if sampler is not None:
        sampler.join()
        result["trace"] = samples
    return result
