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


class RejectLog:
    """Appends ``{"file", "line", "row", "code", "reason"}`` lines and counts them by code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._f: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

    def add(self, file: str, line: int | None, row: int, code: str, reason: str) -> None:
        self.counts[code] += 1
        rec = {"file": file, "line": line, "row": row, "code": code, "reason": reason}
        self._f.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._f.close()
