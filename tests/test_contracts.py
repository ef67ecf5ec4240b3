"""The contract between packages holds in the source: typed manifests only, one dataset module, one spelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    *sorted((ROOT / "packages").glob("*/src/tmz/**/*.py")),
    *sorted((ROOT / "plugins").glob("*/src/**/*.py")),
    *sorted((ROOT / "examples").glob("**/*.py")),  # what users copy
    *sorted((ROOT / "bench").glob("*.py")),
]
DATASET_MODULE = ROOT / "packages/tmz-core/src/tmz/core/dataset.py"
#: Rewrites the raw JSON of older schemas into the typed one: the only code that may index it.
MIGRATIONS = ROOT / "packages/tmz-core/src/tmz/core/migrations.py"


def offenders(pattern: str, allowed: tuple[Path, ...] = ()) -> list[str]:
    found = []
    for path in SOURCES:
        if path in allowed:
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{no}: {line.strip()}")
    return found


def test_the_sources_are_found() -> None:
    assert DATASET_MODULE in SOURCES and len(SOURCES) > 50


def test_settings_and_results_are_read_as_typed_fields() -> None:
    assert offenders(r"(settings|results)(\[|\.get\()", allowed=(MIGRATIONS,)) == []


@pytest.mark.parametrize(
    "pattern",
    [
        r"load_from_disk|save_to_disk",  # the hf/ copy of a dataset
        r"""["']jsonl["']\s*\)?\s*/|/\s*["']jsonl["']""",  # paths into jsonl/
        r"""["'](und|Zyyy)["']""",  # the unknown source language and script
        r"""["']image->| \(image\)""",  # other spellings of an image direction
    ],
)
def test_only_the_dataset_module_touches_dataset_files_and_spellings(pattern: str) -> None:
    assert offenders(pattern, allowed=(DATASET_MODULE,)) == []


def test_one_image_normalisation_and_no_hand_kept_key_lists() -> None:
    assert offenders(r"def image_normalisation\(|NORMALISATION_KEYS|LLM_KEYS") == []


def test_the_field_reference_is_generated_from_the_models() -> None:
    from tmz.core.kinds.reference import reference

    written = (ROOT / "docs" / "manifest-fields.md").read_text(encoding="utf-8")
    assert written == reference(), (
        "regenerate: uv run python -m tmz.core.kinds.reference > docs/manifest-fields.md"
    )
