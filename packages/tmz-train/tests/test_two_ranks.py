"""Two ranks on CPU: `accelerate launch --multi_gpu --num_processes 2` (torch.distributed.run; on a machine without
CUDA the trainer's ranks join a gloo group) trains the tiny model data-parallel, each rank on its own shard; rank
0 alone writes the one adapter and manifest; a killed 2-rank run resumes from its checkpoint."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from tmz.core.manifest import load_manifest
from tmz.train.memorise import TEXT_PAIRS, write_pairs

pytestmark = pytest.mark.slow

#: ``tmz train`` reporting, per rank, the rows of every batch it trains on and each checkpoint save once
#: complete; with PARK_AFTER=N every rank parks (sleeps) when about to save past step N, so a kill lands between
#: two saves.
RANKS_REPORTING = """
import json, os, sys, time
from trl import SFTTrainer
from tmz.core.cli import cli

save, step = SFTTrainer._save_checkpoint, SFTTrainer.training_step
park, rank = int(os.environ.get("PARK_AFTER", "0")), int(os.environ.get("RANK", "0"))


def say(line):  # one write() of a short line: the two ranks' lines never interleave on the shared pipe
    os.write(1, (line + "\\n").encode())


def reported_save(self, model, trial):
    if park and self.state.global_step > park:
        say(f"parked rank {rank} at step {self.state.global_step} pid {os.getpid()}")
        time.sleep(600)
    save(self, model, trial)
    say(f"saved rank {rank} checkpoint-{self.state.global_step}")


def reported_step(self, model, inputs, *args, **kwargs):
    texts = self.processing_class.batch_decode(inputs["input_ids"])
    say("batch " + json.dumps({"rank": rank, "step": self.state.global_step + 1, "texts": texts}))
    return step(self, model, inputs, *args, **kwargs)


SFTTrainer._save_checkpoint, SFTTrainer.training_step = reported_save, reported_step
cli(["train", *sys.argv[1:]], prog_name="tmz")
"""


def launch(script: Path, args: list[str]) -> list[str]:
    """`accelerate launch` of ``script`` on two CPU ranks (one thread each)."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
            "0", str(script), *args]  # fmt: skip


def reports(lines: list[str], kind: str) -> list[str]:
    """The ``kind`` reports ("saved", "parked", "batch") in the output, wherever a line holds them (another
    process's unfinished line may stand before one)."""
    pattern = re.compile(rf"{kind} (rank \d+ checkpoint-\d+|rank \d+ at step \d+ pid \d+|\{{.*)")
    return [m.group() for line in lines if (m := pattern.search(line))]


def rows_by_rank_and_step(lines: list[str]) -> dict[int, dict[int, list[str]]]:
    """{step: {rank: ids of the rows its batch held}}, from the ``batch`` reports (a row is known by its input)."""
    out: dict[int, dict[int, list[str]]] = defaultdict(dict)
    for line in reports(lines, "batch"):
        b, _ = json.JSONDecoder().raw_decode(line.removeprefix("batch "))
        out[b["step"]][b["rank"]] = [f"m{i}" for t in b["texts"] for i, p in enumerate(TEXT_PAIRS)
                                     if str(p.input) in t]  # fmt: skip
    return out


def test_two_cpu_ranks_shard_the_data_write_once_and_resume(tiny_text_base, tmp_path):
    data = tmp_path / "data"
    write_pairs(data, list(TEXT_PAIRS))
    out = tmp_path / "adapter"
    args = ["run", str(data), "--backend", "tiny", "--out", str(out), "--base", str(tiny_text_base),
            "--batch-size", "1", "--set", "training.gradient_accumulation_steps=1",
            "--set", "training.save_steps=2", "--set", "training.logging_steps=1",
            "--set", "training.gradient_checkpointing=false", "--set", "training.packing=false",
            "--set", "training.eval_steps=10000", "--set", "eval.after_training=false"]  # fmt: skip
    script = tmp_path / "ranks_reporting.py"
    script.write_text(RANKS_REPORTING, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PARK_AFTER": "4"}
    log = tmp_path / "killed-run.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(launch(script, [*args, "--max-steps", "400"]), text=True, stdout=subprocess.PIPE,
                                stderr=stderr, start_new_session=True, env=env)  # fmt: skip
    watchdog = threading.Timer(400, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    lines, parked = [], {}
    try:
        for line in proc.stdout:
            lines.append(line.strip())
            for report in reports([line], "parked"):
                parked[report.split()[2]] = int(report.split()[-1])
            if len(parked) == 2:
                break
        assert set(parked) == {"0", "1"}, log.read_text()[-3000:]
    finally:
        watchdog.cancel()
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in parked.values():  # torch elastic starts each rank in a session of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
    saves = sorted(reports(lines, "saved"))
    assert saves == ["saved rank 0 checkpoint-2", "saved rank 0 checkpoint-4",
                     "saved rank 1 checkpoint-2", "saved rank 1 checkpoint-4"]  # fmt: skip
    # each step, each rank trains on a row of its own; each epoch (two steps of two ranks) covers every row once
    batches = rows_by_rank_and_step(lines)
    assert sorted(batches) == [1, 2, 3, 4, 5, 6] and all(sorted(b) == [0, 1] for b in batches.values())
    ids = sorted(f"m{i}" for i in range(len(TEXT_PAIRS)))
    for first in (1, 3, 5):
        epoch = [r for s in (first, first + 1) for rank in (0, 1) for r in batches[s][rank]]
        assert sorted(epoch) == ids, batches
    assert not out.exists()

    env.pop("PARK_AFTER")
    done = subprocess.run(
        launch(script, [*args, "--max-steps", "6"]), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stdout = done.stdout.splitlines()
    assert sorted(reports(stdout, "saved")) == [
        "saved rank 0 checkpoint-6", "saved rank 1 checkpoint-6"]  # fmt: skip
    assert [line for line in stdout if line.startswith("wrote adapter")] == [stdout[-1]]  # rank 0 only
    manifest = load_manifest(out, expect_kind="adapter")
    assert manifest.settings.world_size == 2 and manifest.results.resumed_from == "checkpoint-4"
    assert manifest.results.global_step == 6 and [h.step for h in manifest.results.loss_history] == list(
        range(1, 7)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "adapter",
        "data",
        "killed-run.log",
        "ranks_reporting.py",
    ]
