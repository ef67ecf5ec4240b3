"""Rejected rows: the exception that carries a reason, and the ``rejects.jsonl`` writer."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO


class Reject(Exception):  # noqa: N818 (a reason to reject a row, not an error of the program)
    """A row (or a pair of texts within it) cannot become training data; ``code`` groups the reasons."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


_FIELDS = ("file", "line", "row", "code", "reason")


def is_reject_log(path: Path) -> bool:
    """Whether ``path`` is a regular file of reject records (one a tmz run wrote, which may be replaced)."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline(1 << 16)
    try:
        record = json.loads(first) if first.strip() else {}
    except ValueError:
        return False
    return isinstance(record, dict) and tuple(record) in (_FIELDS, ())


class RejectLog:
    """Appends ``{"file", "line", "row", "code", "reason"}`` lines and counts them by code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._f: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def add(self, file: str, line: int | None, row: int, code: str, reason: str) -> None:
        self.counts[code] += 1
        rec = dict(zip(_FIELDS, (file, line, row, code, reason), strict=True))
        self._f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._f.close()
