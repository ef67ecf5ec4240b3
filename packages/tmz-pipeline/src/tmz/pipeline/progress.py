"""The terminal side of a captured run: one line per stage (a spinner while it runs), the log on failure."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from tmz.pipeline.capture import log_tail


class _Seconds(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.elapsed or 0:.0f} s", style="dim")


@contextlib.contextmanager
def terminal_console() -> Iterator[Console]:
    """A console on a duplicate of the current stderr, so it still reaches the terminal while fd 2 is captured."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        yield Console(stderr=True)  # no real stderr (e.g. click's CliRunner): nothing to keep apart
        return
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    with os.fdopen(fd, "w", encoding=encoding, errors="replace", buffering=1) as f:
        yield Console(file=f)


class StageProgress:
    """Prints ``✓ name 52.1 s`` per stage; a spinner with the elapsed seconds while it runs (on a terminal)."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def say(self, markup: str) -> None:
        """One line, not wrapped by rich (paths stay whole for copying)."""
        self.console.print(markup, highlight=False, soft_wrap=True)

    def skipped(self, name: str) -> None:
        self.say(f"[dim]· {escape(name)} skipped (up to date)[/]")

    @contextlib.contextmanager
    def running(self, name: str, log: Path) -> Iterator[None]:
        """Show ``name`` running; on failure its last log lines, the log's path (also noted on the exception)."""
        start = time.perf_counter()
        if self.console.is_terminal:
            spinner = Progress(SpinnerColumn(), TextColumn("{task.description}"), _Seconds(), transient=True,
                               refresh_per_second=5, console=self.console, redirect_stdout=False,
                               redirect_stderr=False)  # fmt: skip
            spinner.add_task(name)
        else:  # a file or a pipe: a line as the stage starts instead
            spinner = contextlib.nullcontext()
            self.say(f"· {escape(name)} …")
        try:
            with spinner:
                yield
        except BaseException as e:
            what = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            self.say(f"[bold red]✗ {escape(name)} {what}[/] after {time.perf_counter() - start:.1f} s")
            tail = log_tail(log) if what == "failed" else []
            if tail:
                self.say(f"[dim]  last lines of {escape(str(log))}:[/]")
                for line in tail:
                    self.say(f"[dim]  │ {escape(line)}[/]")
            self.say(f"  see {escape(str(log))} for the whole output of {escape(name)}")
            with contextlib.suppress(AttributeError):
                e.add_note(f"see {log}")
            raise
        self.say(f"[green]✓[/] {escape(name)} [dim]{time.perf_counter() - start:.1f} s[/]")
