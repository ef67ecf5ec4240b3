"""Splits by group: no sentence of a test example appears in train in any direction or script."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tmz.core.tamazight import IrcamTransliterator
from tmz.data.splits import assign_splits, first_occurrence, groups

from .conftest import all_rows

ircam = IrcamTransliterator()


def test_groups_join_units_that_share_any_key():
    # units 0-1 share key 7, units 1-2 share key 9; unit 3 is alone; unit 4 has no key
    node_unit = np.array([0, 0, 1, 1, 2, 2, 3], dtype=np.int64)
    node_key = np.array([5, 7, 7, 9, 9, 11, 3], dtype=np.uint64)
    g = groups(node_unit, node_key, 5)
    assert g[0] == g[1] == g[2] == 5 and g[3] == 3 and g[4] == 0


def test_first_occurrence_prefers_originals_over_derived():
    keys = np.array([4, 4, 2, 4, 2], dtype=np.uint64)
    assert first_occurrence(keys).tolist() == [0, 0, 2, 0, 2]
    derived = np.array([1, 0, 0, 0, 0], dtype=np.int8)
    assert first_occurrence(keys, derived).tolist() == [1, 1, 2, 1, 2]


def test_split_assignment_is_deterministic_and_follows_ratios():
    keys = np.arange(1, 20001, dtype=np.uint64) * np.uint64(2654435761)
    a = assign_splits(keys, 0.1, 0.2, seed=0)
    assert (a == assign_splits(keys, 0.1, 0.2, seed=0)).all()
    assert not (a == assign_splits(keys, 0.1, 0.2, seed=1)).all()
    share = np.bincount(a, minlength=3) / len(a)
    assert share == pytest.approx([0.7, 0.1, 0.2], abs=0.02)
    # a group never moves when others are added
    assert (assign_splits(keys[:100], 0.1, 0.2, seed=0) == a[:100]).all()


def _canonical(language: str, text: str) -> tuple[str, str]:
    if language in ("zgh", "tzm"):
        return "tamazight", ircam.to_latin(text).casefold()
    return language, text.casefold()


@pytest.fixture(scope="module")
def leaky_corpus(tmp_path_factory):
    """Meanings that recur across rows, directions, scripts and varieties, among many independent rows."""
    d = tmp_path_factory.mktemp("leak")
    rows = []
    for i in range(120):
        tfng = ircam.to_tifinagh(f"awal wis {'a' * (i % 5 + 1)}n{i}")
        latn = ircam.to_latin(tfng)
        en, fr = f"Sentence number {i}.", f"Phrase numéro {i}."
        rows += [
            ("English", "zgh_Tfng", en, tfng),
            ("zgh_Tfng", "French", tfng, fr),  # same Tamazight text, other direction and language
            (
                "Tamazight (Latin)",
                "English",
                latn.capitalize(),
                f"Sentence no. {i}.",
            ),  # the Latin twin, by hand
            ("tzm_Tfng", "Arabic", tfng, f"الجملة {i}"),  # another variety, same letters
        ]
        if i % 10 == 0:  # one English sentence with a second translation
            rows.append(("English", "zgh_Latn", en, f"tawalt {i}"))
    path = d / "leak.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text"])
        w.writerows(rows)
    return path


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_text_appears_in_two_splits_in_any_direction_or_script(run, leaky_corpus, seed):
    manifest, out = run(leaky_corpus, seed=seed, validation_ratio=0.2, test_ratio=0.2, transliterate=True)
    assert manifest.results.rows.rejected == 0
    seen: dict[tuple[str, str], str] = {}
    group_split: dict[str, str] = {}
    for split, rows in all_rows(out).items():
        assert rows, f"split {split} is empty"
        for r in rows:
            assert group_split.setdefault(r["group"], split) == split
            for lang, text in (
                (r["source_language"], r["source_text"]),
                (r["target_language"], r["target_text"]),
            ):
                key = _canonical(lang, text)
                assert seen.setdefault(key, split) == split, (key, split, seen[key])
    # each meaning (4 rows + twins, both directions) is one group
    assert len(group_split) == 120 == sum(c.groups for c in manifest.results.splits.values())
