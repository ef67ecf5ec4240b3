"""Review items without a model: a stand-in bundle file and a batch run of Translation records written here."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from tmz.core.manifest import sha256_file
from tmz.review.store import Store
from tmz.runtime.translation import Translation

#: (source language, source script, target language, target script, source text, model text), written for these tests.
SENTENCES = (
    ("en", "Latn", "zgh", "Tfng", "Drink clean water.", "ⵙⵓ ⴰⵎⴰⵏ."),
    ("ar", "Arab", "zgh", "Tfng", "اغسل يديك بالماء.", "ⵙⵉⵔⴷ ⴰⴼⵓⵙ."),
    ("fr", "Latn", "zgh", "Latn", "La pharmacie est fermée.", "tafarmasyt tmmdl."),
)


def translation(
    src: str, s_script: str, tgt: str, t_script: str, source: str, text: str, sha: str
) -> Translation:
    """A model answer as tmz-runtime's Translator returns it."""
    return Translation(
        text=text, origin="model", direction=f"{src}_{s_script}->{tgt}_{t_script}", source_language=src,
        source_script=s_script, target_language=tgt, target_script=t_script, dialect=None, source_text=source,
        latency_s=0.01, bundle_sha256=sha,
    )  # fmt: skip


def write_batch_run(path: Path, translations: list[Translation | None]) -> Path:
    """What ``tmz translate --file F --out x.jsonl`` writes: one record per line, null for a blank line."""
    path.write_text(
        "".join(json.dumps(asdict(t) if t else None, ensure_ascii=False) + "\n" for t in translations),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def bundle(tmp_path) -> Path:
    """A stand-in for a bundle file: reviewing a batch run only needs the file's sha256."""
    path = tmp_path / "tiny.litertlm"
    path.write_bytes(b"not a real bundle: only hashed by tmz review\n")
    return path


@pytest.fixture
def batch_run(tmp_path, bundle) -> Path:
    sha = sha256_file(bundle)
    records = [translation(*row, sha) for row in SENTENCES]
    return write_batch_run(tmp_path / "batch.jsonl", [records[0], None, *records[1:]])


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "review.sqlite") as s:
        yield s
