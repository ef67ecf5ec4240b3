"""Atomic writes: a crash, Ctrl-C or SIGTERM never leaves a half-written artifact that looks complete, and
writing an artifact never deletes what tmz did not make.

An artifact directory is built in a hidden sibling named ``.<out>.partial.<host>.<pid>.<random>`` and renamed into
place at the end. It replaces an existing ``out`` only when that is empty or an artifact of the same kind written
by tmz (its manifest lists every top-level entry but its card, README.md), unless ``overwrite`` is asked; never when ``out`` is, holds or
lies inside one of the stage's inputs. Siblings left by processes of this host that are gone (kill -9, power loss)
are swept the next time the same ``out`` is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from tmz.core.errors import OutputError

#: The manifest file an artifact directory holds (also :data:`tmz.core.manifest.MANIFEST_NAME`).
MANIFEST_FILE = "tmz-manifest.json"
#: The card tmz-publish writes into an artifact (unlisted in its manifest, replaced with it).
CARD_FILE = "README.md"
_TAGS = ("partial", "work", "old")
_HOST = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "localhost"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A binary file object that becomes ``path`` only when the block succeeds (streamed, for large files).

    The file gets the ordinary permissions (0666 less the umask), since artifacts are meant to be shared.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory and an atomic rename."""
    with atomic_file(path) as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def exit_on_sigterm() -> None:
    """Make SIGTERM end the process like Ctrl-C does: unwinding, so every partial directory is removed.

    It raises SystemExit(143) in the main thread; the CLI root installs it (call it in programs of your own).
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def check_output(
    out: str | os.PathLike[str],
    kind: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse (OutputError) to write a ``kind`` artifact at ``out`` when that would destroy something.

    ``out`` may be absent, an empty directory, or a ``kind`` artifact tmz wrote (its manifest lists every
    top-level entry); anything else (a folder of other files, an artifact of another kind, a file, a symbolic
    link) only with ``overwrite``. An ``out`` that is, holds or lies inside one of ``inputs`` is refused always.
    """
    out = Path(out)
    places = {
        out.resolve(),
        Path(os.path.normpath(out.parent.resolve() / out.name)),
    }  # a link's target, itself
    for given in inputs:
        src = Path(given).resolve()
        for place in places:
            if place == src or place.is_relative_to(src) or src.is_relative_to(place):
                how = "is" if place == src else "lies inside" if place.is_relative_to(src) else "holds"
                raise OutputError(
                    f"{out}: the output {how} the input {given}; writing there would replace what is being "
                    "read. Choose an --out outside every input (--overwrite does not change this)"
                )
    if overwrite or not os.path.lexists(out):
        return
    problem = _not_replaceable(out, kind)
    if problem:
        raise OutputError(
            f"{out}: {problem}; tmz replaces only an empty folder or a {kind} it wrote there. Choose another "
            "--out, or pass --overwrite (overwrite=True) to replace it"
        )


def _not_replaceable(out: Path, kind: str) -> str | None:
    """Why ``out`` is not a ``kind`` artifact tmz may replace, or None when it is one (or an empty folder)."""
    if out.is_symlink():
        return f"is a symbolic link (to {os.readlink(out)}), which tmz does not write through"
    if not out.is_dir():
        return "is a file, not an artifact folder"
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return None
    manifest = out / MANIFEST_FILE
    if manifest.is_symlink() or not manifest.is_file():
        return f"holds {_some(entries)} and no tmz manifest"
    try:
        raw = json.loads(manifest.read_bytes())
        found = raw["kind"]
        listed = {str(f["path"]).split("/")[0] for f in raw["files"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"its {MANIFEST_FILE} is not a readable tmz manifest"
    if found != kind:
        return f"is a {found!r} artifact, not a {kind}"
    extra = [e for e in entries if e not in listed and e not in (MANIFEST_FILE, CARD_FILE)]
    if extra:
        return f"holds {_some(extra)}, which its manifest does not list"
    return None


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return f"{len(names)} entries ({shown}, ...)" if len(names) > 3 else shown


def _prefix(out: Path, tag: str) -> str:
    return f".{out.name}.{tag}.{_HOST}.{os.getpid()}."


def sweep_stale(out: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of ``out`` that processes of this host left when they died; returns them."""
    out = Path(out)
    pattern = re.compile(
        rf"\.{re.escape(out.name)}\.(?:{'|'.join(_TAGS)})\.(?P<host>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+"
    )
    if not out.parent.is_dir():
        return []
    swept = []
    for p in out.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and m["host"] == _HOST and not _alive(int(m["pid"])):
            _remove(p)
            swept.append(p)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def scratch_directory(out: str | os.PathLike[str]) -> Iterator[Path]:
    """A hidden working directory beside ``out`` (``.<out>.work.<host>.<pid>.<random>``), removed afterwards,
    and swept like partial directories when its process was killed."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=_prefix(out, "work"), dir=out.parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(
    out: str | os.PathLike[str],
    kind: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Path]:
    """Yield a temporary sibling directory that replaces ``out`` only if the block succeeds.

    ``out`` is checked first with :func:`check_output` (``kind``, ``overwrite``, ``inputs``), and again before
    it is replaced. On an exception (Ctrl-C included; SIGTERM too under :func:`exit_on_sigterm`) the temporary
    directory is removed and ``out`` is left as it was.
    """
    out = Path(out)
    inputs = list(inputs)
    check_output(out, kind, overwrite=overwrite, inputs=inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(out, "partial"), dir=out.parent))
    try:
        yield tmp
        check_output(out, kind, overwrite=overwrite, inputs=inputs)  # it may have changed meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    with _signals_held():
        if os.path.lexists(out):
            old = out.with_name(_prefix(out, "old") + secrets.token_hex(4))
            os.replace(out, old)
        os.replace(tmp, out)
    if old is not None:
        _remove(old)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait for the two renames that swap an artifact: a stop never leaves ``out`` missing."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
