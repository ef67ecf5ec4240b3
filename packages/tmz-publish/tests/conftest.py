"""A small dataset prepared under CC BY-SA 4.0, for the card and publishing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROWS = [("Help!", "ⴰⵡⵙ!"), ("Thank you.", "ⵜⴰⵏⵎⵎⵉⵔⵜ."), ("Water, please.", "ⴰⵎⴰⵏ, ⵜⵜⵅⵉⵍ."),
        ("Where is the pharmacy?", "ⵎⴰⵏⵉ ⵜⵍⵍⴰ ⵜⴼⴰⵔⵎⴰⵙⵉⵜ?")]  # fmt: skip
ATTRIBUTION = "Phrases written for the tmz tests"


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "phrases.csv"
    lines = ["source_language,target_language,source_text,target_text"]
    lines += [f'en,zgh_Tfng,"{en}","{zgh}"' for en, zgh in ROWS]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def sa_dataset(tmp_path_factory) -> Path:
    """A dataset prepared with --license CC-BY-SA-4.0 (all rows in train)."""
    from tmz.data import prepare

    root = tmp_path_factory.mktemp("sa")
    out = root / "data"
    prepare(write_corpus(root / "corpus"), out, progress=False, license="CC-BY-SA-4.0", attribution=ATTRIBUTION,
            validation_ratio=0.0, test_ratio=0.0)  # fmt: skip
    return out


@pytest.fixture
def corpus(tmp_path) -> Path:
    """The phrases as a csv file, with no license beside it."""
    return write_corpus(tmp_path / "corpus")
