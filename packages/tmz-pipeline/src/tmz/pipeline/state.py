"""Which stages are up to date: a stage is skipped when its inputs, settings and output are unchanged."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tmz.core.atomic import write_text_atomic
from tmz.core.errors import TmzError
from tmz.core.manifest import load_manifest, sha256_file

STATE_NAME = "pipeline-state.json"


def fingerprint(value: Any) -> str:
    """sha256 of a JSON-serialisable value (keys sorted), identifying a stage's inputs and settings."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def source_hashes(paths: list[Path]) -> dict[str, str]:
    """sha256 of every input file (directories: every file inside), keyed by path."""
    out: dict[str, str] = {}
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out.update({str(f): sha256_file(f) for f in files if f.exists()})
    return out


@dataclass
class StageRecord:
    key: str
    output: str  # a manifest (verified with every file it lists) or a plain result file
    sha256: str


class PipelineState:
    """The ``pipeline-state.json`` of a work directory, rewritten atomically after each finished stage."""

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / STATE_NAME
        self.records: dict[str, StageRecord] = {}
        if self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self.records = {k: StageRecord(**v) for k, v in raw.get("stages", {}).items()}
            except (json.JSONDecodeError, TypeError, AttributeError):
                self.records = {}  # a damaged state only costs a re-run

    def up_to_date(self, stage: str, key: str) -> bool:
        """True when ``stage`` last ran with ``key`` and its output is intact (manifests: every listed file)."""
        rec = self.records.get(stage)
        if rec is None or rec.key != key or not Path(rec.output).is_file():
            return False
        if sha256_file(rec.output) != rec.sha256:
            return False
        if rec.output.endswith("tmz-manifest.json"):
            try:
                load_manifest(rec.output)
            except TmzError:
                return False
        return True

    def record(self, stage: str, key: str, output: Path) -> None:
        self.records[stage] = StageRecord(key, str(output), sha256_file(output))
        body = {"stages": {k: vars(v) for k, v in self.records.items()}}
        write_text_atomic(self.path, json.dumps(body, indent=2) + "\n")
