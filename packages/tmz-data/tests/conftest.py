"""Fixtures of the tmz-data tests: small corpora written on the fly, prepared quietly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def all_rows(dataset: Path) -> dict[str, list[dict]]:
    return {s: read_jsonl(dataset / "jsonl" / f"{s}.jsonl") for s in ("train", "validation", "test")}


@pytest.fixture
def run(tmp_path):
    """``run(sources, **settings)`` prepares into a fresh directory and returns (manifest, out dir)."""
    from tmz.data import prepare

    def _run(sources, **settings):
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        return prepare(sources, out, progress=False, **settings), out

    return _run
