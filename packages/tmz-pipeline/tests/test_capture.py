"""A stage's library output goes to its log: Python writers, native fds and child processes, restored after."""

import io
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from rich.console import Console

from tmz.core.cli import cli
from tmz.core.errors import ConfigError
from tmz.pipeline.capture import FAILURE_MARKER, log_tail
from tmz.pipeline.run import Runner

SCRIPT = textwrap.dedent(
    """
    import ctypes, logging, os, subprocess, sys, warnings
    from pathlib import Path
    from tmz.pipeline.capture import capture_output

    log = Path(sys.argv[1])
    logging.basicConfig(level=logging.INFO)  # a handler on the real stderr, made before the capture
    print("before-out"); sys.stderr.write("before-err\\n")
    with capture_output(log):
        print("in-print")
        sys.stderr.write("in-stderr\\n")
        logging.getLogger("lib").info("in-logging")
        late, handler = logging.getLogger("late"), logging.StreamHandler()  # made inside the capture
        handler.flush = sys.stderr.flush  # bound to the capture's stream, as transformers does
        late.addHandler(handler)
        warnings.warn("in-warning")
        os.write(1, b"in-fd1\\n")
        os.write(2, b"in-fd2\\n")
        ctypes.CDLL(None).printf(b"in-c-printf\\n")
        subprocess.run([sys.executable, "-c", "import os, sys; print('in-child-out'); os.write(2, b'in-child-err')"])
    print("after-out"); sys.stderr.write("after-err\\n")
    late.warning("late-after")
    with capture_output(log.with_name("second.log")):
        late.warning("in-second")
    try:
        with capture_output(log.with_name("interrupted.log")):
            print("in-interrupted")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        print("after-interrupt")
    """
)
INSIDE = ["in-print", "in-stderr", "in-logging", "in-warning", "in-fd1", "in-fd2", "in-c-printf",
          "in-child-out", "in-child-err"]  # fmt: skip


def test_capture_sends_python_native_and_child_output_to_the_log_only(tmp_path):
    log = tmp_path / "logs" / "stage.log"
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(log)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    text = log.read_text()
    for marker in INSIDE:
        assert marker in text, marker
        assert marker not in run.stdout + run.stderr, marker
    assert run.stdout.split() == ["before-out", "after-out", "after-interrupt"]
    assert "before-err" in run.stderr and "after-err" in run.stderr and "late-after" in run.stderr
    assert "Logging error" not in run.stderr  # the handler made inside outlives its capture
    assert "in-second" in (tmp_path / "logs" / "second.log").read_text()
    interrupted = (tmp_path / "logs" / "interrupted.log").read_text()
    assert (
        "in-interrupted" in interrupted
        and FAILURE_MARKER in interrupted
        and "KeyboardInterrupt" in interrupted
    )


def test_log_tail_shows_what_came_before_the_failure(tmp_path):
    log = tmp_path / "s.log"
    log.write_text("one\nbar 10%\rbar 100%\n\n" + "x\n" * 3 + f"{FAILURE_MARKER}\nTraceback ...\n")
    assert log_tail(log) == ["one", "bar 100%", "x", "x", "x"]
    assert log_tail(log, 2) == ["x", "x"]
    assert log_tail(tmp_path / "missing.log") == []


def test_a_failing_stage_names_its_log_and_shows_its_last_lines(tmp_path):
    import os

    out = io.StringIO()
    runner = Runner(tmp_path, Console(file=out, width=200))

    def build():
        print("library noise")
        os.write(2, b"native noise\n")
        raise ConfigError("boom")

    with pytest.raises(ConfigError, match="boom") as failed:
        runner.stage("bundle task", {"in": 1}, tmp_path / "x" / "tmz-manifest.json", build)
    log = tmp_path / "logs" / "bundle-task.log"
    shown = out.getvalue()
    assert "✗ bundle task failed" in shown and f"see {log}" in shown
    assert "│ library noise" in shown and "│ native noise" in shown and "Traceback" not in shown
    assert f"see {log}" in failed.value.__notes__
    text = log.read_text()
    assert "library noise" in text and "native noise" in text and "ConfigError: boom" in text
    assert runner.report.stages == [] and "bundle task" not in runner.state.records


def test_the_demo_cli_reports_a_failing_stage_with_its_log(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    work = tmp_path / "w"
    r = CliRunner().invoke(cli, ["demo", "--until", "prepare", "--corpus", str(bad), "--workdir", str(work)])
    assert r.exit_code == 1
    assert "✗ prepare failed" in r.output and f"see {work / 'logs' / 'prepare.log'}" in r.output
    assert "error:" in r.output and "not a language" in r.output


@pytest.mark.parametrize(
    ("args", "example"),
    [
        (["demo"], "tmz demo --verbose"),
        (["pipeline", "run"], "tmz pipeline run examples/pipeline-gemma3-1b.toml --verbose"),
    ],
)
def test_help_shows_verbose_with_an_example(args, example):
    r = CliRunner().invoke(cli, [*args, "--help"], terminal_width=200)
    assert r.exit_code == 0 and "--verbose" in r.output and example in r.output and "--until" in r.output
