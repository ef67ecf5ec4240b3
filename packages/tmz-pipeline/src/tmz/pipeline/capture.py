"""Send a stage's library output to its log file: file descriptors 1 and 2, sys.stdout/stderr and logging.

C/C++ libraries (LiteRT-LM's absl logs, TensorFlow) and child processes write to the process's fds 1 and 2
directly, so the fds themselves are pointed at the log (``os.dup2``); Python writers (print, logging, warnings,
tqdm) are pointed at a text stream on the same file. Everything is restored afterwards, also on exceptions and
KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

#: Written to the log before the traceback of a failed stage; :func:`log_tail` shows what came before it.
FAILURE_MARKER = "--- tmz: the stage failed ---"


def _flush_c_stdio() -> None:
    """Flush C's stdio buffers (printf from native libraries), so they land on the fd they were meant for."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)


def _flush(*streams: TextIO | None) -> None:
    for s in streams:
        with contextlib.suppress(Exception):
            s.flush()  # type: ignore[union-attr]


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]  # fmt: skip
    return [h for lg in loggers for h in lg.handlers if isinstance(h, logging.StreamHandler)
            and not isinstance(h, logging.FileHandler)]  # fmt: skip


_stream: io.TextIOWrapper | None = None


def _log_stream() -> io.TextIOWrapper:
    """The process's one Python stream for captured output, never closed: each capture points its fd at the
    stage's log, so references that libraries keep (transformers binds its handler's flush to the stream it
    saw) write to the current log, or to the terminal between stages, and never to a closed file."""
    global _stream
    if _stream is None:
        fd = os.dup(2)
        while fd < 3:  # stdin/stdout were closed: keep clear of the standard fds
            fd = os.dup(fd)
        _stream = io.TextIOWrapper(io.FileIO(fd, "w"), encoding="utf-8", errors="backslashreplace",
                                   line_buffering=True)  # fmt: skip
    return _stream


@contextlib.contextmanager
def capture_output(log: Path) -> Iterator[Path]:
    """Everything written inside the block (by Python, native code or child processes) goes to ``log``.

    The log is overwritten. An exception leaving the block is written to the log (after
    :data:`FAILURE_MARKER`) and re-raised once the terminal is restored.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    old_out, old_err = sys.stdout, sys.stderr
    stream = _log_stream()
    _flush(old_out, old_err, sys.__stdout__, sys.__stderr__, stream)
    _flush_c_stdio()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    saved = {n: os.dup(n) for n in (1, 2, stream.fileno())}  # the stream's own target too (nested captures)
    moved = [(h, h.stream) for h in _stream_handlers()
             if h.stream in (old_out, old_err, sys.__stdout__, sys.__stderr__)]  # fmt: skip
    try:
        for n in saved:
            os.dup2(fd, n)
        sys.stdout = sys.stderr = stream
        for h, _ in moved:
            _set_stream(h, stream)
        yield log
    except BaseException:
        with contextlib.suppress(Exception):
            stream.write(f"\n{FAILURE_MARKER}\n{traceback.format_exc()}")
        raise
    finally:
        _flush(stream, sys.__stdout__, sys.__stderr__)
        _flush_c_stdio()
        for n, dup in saved.items():
            os.dup2(dup, n)
            os.close(dup)
        os.close(fd)
        sys.stdout, sys.stderr = old_out, old_err
        for h, original in moved:
            _set_stream(h, original)
        for h in _stream_handlers():  # made inside the block: back to where they would have written
            if h.stream is stream:
                _set_stream(h, old_err)


def _set_stream(handler: logging.StreamHandler, stream: TextIO) -> None:
    with contextlib.suppress(Exception):  # a handler a library broke must not break the stage
        handler.setStream(stream)


def log_tail(log: Path, lines: int = 15) -> list[str]:
    """The last ``lines`` lines a stage wrote before it failed (as a terminal shows ``\\r`` progress bars)."""
    try:
        text = log.read_bytes().decode("utf-8", errors="replace")  # keep "\r" (no newline translation)
    except OSError:
        return []
    before, marker, _ = text.rpartition(FAILURE_MARKER)
    text = before if marker else text
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    return [line[:300] for line in shown if line.strip()][-lines:]
