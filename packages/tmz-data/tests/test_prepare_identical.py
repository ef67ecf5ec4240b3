"""``prepare`` writes exactly what it wrote before its speed-ups (issue 19): every split's rows, the rejects with
their reasons and the manifest's counts, from a synthetic corpus (references stored in full) and from the real
seed corpus (only digests stored: never its sentences).

The references were made with the code before the speed-ups; after a deliberate change of the output, write them
again with ``uv run python packages/tmz-data/tests/test_prepare_identical.py`` (and say why in the commit).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
SYNTHETIC = {  # reference name -> (rows, prepare settings)
    "synthetic-default": (2000, {}),
    "synthetic-transliterate": (600, {"transliterate": True, "test_ratio": 0.2, "validation_ratio": 0.1}),
}
SEED_DIGESTS = DATA / "prepare_seed_digests.json"
_LATIN = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "fa", "po", "ba", "ge", "hu", "ja", "we"]
_TIFINAGH = list("ⴰⴱⴳⴷⴹⴻⴼⴽⵀⵃⵄⵅⵇⵉⵊⵍⵎⵏⵓⵔⵕⵖⵙⵚⵛⵜⵟⵡⵢⵣⵥ")
_TO_LATIN = dict(zip(_TIFINAGH, "abgdḍefkhḥɛxqijlmnurṛɣsṣcttwyzẓ", strict=True))


def synthetic_corpus(folder: Path, rows: int, seed: int = 0) -> Path:
    """A long csv of made-up syllables (no real sentence): English -> Tamazight in Tifinagh and Latin, French,
    reverse directions, exact and normalised duplicates, and rows every filter rejects."""
    rng = random.Random(seed)

    def words(alphabet: list[str], n: int, lo: int, hi: int) -> str:
        return " ".join("".join(rng.choices(alphabet, k=rng.randint(lo, hi))) for _ in range(n))

    out: list[list[str]] = []
    for i in range(rows):
        n = rng.randint(2, 9)
        en = f"{words(_LATIN, n, 1, 3).capitalize()} {i}."
        zgh = f"{words(_TIFINAGH, n, 2, 6)} {i}."
        domain = rng.choice(["daily", "news", ""])
        kind = rng.random()
        if kind < 0.55:
            out.append(["English", "Tamazight (Tifinagh)", en, zgh, domain])
        elif kind < 0.65:
            latin = "".join(_TO_LATIN.get(c, c) for c in zgh)
            out.append(["eng_Latn", "zgh_Latn", en, latin, domain])
        elif kind < 0.70:
            out.append(["zgh_Tfng", "English", zgh, en, domain])
        elif kind < 0.74:
            out.append(["Français", "Tamazight (Tifinagh)", en.lower(), zgh, domain])
        elif kind < 0.80 and out:
            out.append(list(rng.choice(out)))  # an exact duplicate
        elif kind < 0.84 and out:
            prev = list(rng.choice(out))
            prev[2] = f"  {prev[2].replace(' ', '  ')}\u200b"  # a duplicate after normalisation
            out.append(prev)
        elif kind < 0.86 and out:
            prev = rng.choice(out)
            out.append([prev[1], prev[0], prev[3], prev[2], prev[4]])  # the reverse of an earlier pair
        elif kind < 0.88:
            out.append(["English", "Tamazight (Tifinagh)", en, en, domain])  # wrong script
        elif kind < 0.90:
            out.append(["English", "Tamazight (Tifinagh)", "", zgh, domain])  # empty
        elif kind < 0.92:
            out.append(["English", "Tamazight (Tifinagh)", en * 40, zgh, domain])  # too long / ratio
        elif kind < 0.94:
            out.append(["English", "Klingon", en, zgh, domain])  # unknown language
        elif kind < 0.96:
            out.append(
                ["English", "Tamazight (Tifinagh)", en, "\u200b\u200c", domain]
            )  # empty once normalised
        elif kind < 0.98:
            out.append(["English", "Tamazight (Tifinagh)", en, f"{zgh} {en} {en}", domain])  # mixed scripts
        else:
            out.append(["English", "Tamazight (Tifinagh)", en, f"{zgh} ⵍ", domain])
    path = folder / "synthetic.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text", "domain"])
        w.writerows(out)
        w.writerow(["English", "Tamazight (Tifinagh)", "only three", "fields"])  # ragged
    with open(path, "ab") as f:
        f.write(b"English,Tamazight (Tifinagh),Bad \xff byte,\xe2\xb4\xb0\xe2\xb4\xb1\xe2\xb4\xb3,news\n")
    return path


def outputs(out: Path, corpus_dir: Path) -> dict[str, Any]:
    """What must not change: JSON lines of every split, hf/ rows (canonical JSON), rejects (the corpus folder
    written as <corpus>), the manifest's results and its sources' layout and row counts."""
    from tmz.core.dataset import SPLITS, load_splits, split_path
    from tmz.core.manifest import load_manifest

    manifest = load_manifest(out, expect_kind="dataset")
    splits = {s: split_path(out, s).read_text(encoding="utf-8").splitlines() for s in SPLITS}
    hf = {
        s: [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in ds.to_list()]
        for s, ds in load_splits(out).items()
    }
    rejects = (out / "rejects.jsonl").read_text(encoding="utf-8").replace(str(corpus_dir), "<corpus>")
    return {
        "splits": splits,
        "hf": hf,
        "rejects": rejects.splitlines(),
        "results": manifest.results.model_dump(mode="json"),
        "sources": [(s.layout, s.rows, [f.sha256 for f in s.files]) for s in manifest.settings.sources],
    }


def digests(found: dict[str, Any]) -> dict[str, Any]:
    """The outputs with every list of lines replaced by its sha256 (for the real corpus: no sentence stored)."""

    def sha(lines: list[str]) -> str:
        return hashlib.sha256("".join(f"{line}\n" for line in lines).encode("utf-8")).hexdigest()

    return {
        "splits": {s: sha(v) for s, v in found["splits"].items()},
        "hf": {s: sha(v) for s, v in found["hf"].items()},
        "rejects": sha(found["rejects"]),
        "results": found["results"],
        "sources": [list(s[:2]) + [s[2]] for s in found["sources"]],
    }


def _prepare(corpus: Path, out: Path, settings: dict[str, Any]) -> dict[str, Any]:
    from tmz.data import prepare

    if corpus.is_file():  # the synthetic corpus (the seed corpus has its LICENSE)
        settings = {"license": "CC0-1.0", **settings}
    prepare(corpus, out, progress=False, **settings)
    return outputs(out, corpus.parent if corpus.is_file() else corpus)


def _first_difference(found: list[str], expected: list[str]) -> str:
    for i, (a, b) in enumerate(zip(found, expected, strict=False)):
        if a != b:
            return f"line {i + 1} differs:\n  now:    {a[:400]}\n  before: {b[:400]}"
    return f"{len(found)} lines now, {len(expected)} before"


def assert_same(found: dict[str, Any], expected: dict[str, Any]) -> None:
    for part in ("splits", "hf"):
        for split, lines in expected[part].items():
            assert found[part][split] == lines, (
                f"{part} {split}: {_first_difference(found[part][split], lines)}"
            )
    assert found["rejects"] == expected["rejects"], f"rejects: {_first_difference(found['rejects'], expected['rejects'])}"  # fmt: skip
    assert found["results"] == expected["results"]
    assert [list(s) for s in found["sources"]] == [list(s) for s in expected["sources"]]


def _reference(name: str) -> dict[str, Any]:
    with gzip.open(DATA / f"prepare_{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_corpus_prepares_to_the_reference_row_for_row(name, tmp_path):
    rows, settings = SYNTHETIC[name]
    corpus = synthetic_corpus(tmp_path, rows)
    found = _prepare(corpus, tmp_path / "out", settings)
    expected = _reference(name)
    assert found["results"]["rows"]["rejected"] > 0 and found["results"]["examples"]["total"] > rows
    assert_same(found, expected)


def test_the_comparison_fails_on_one_changed_row(tmp_path):
    expected = _reference("synthetic-default")
    changed = json.loads(json.dumps(expected))
    changed["splits"]["train"][7] = changed["splits"]["train"][7].replace(
        '"derived": false', '"derived": true'
    )
    with pytest.raises(AssertionError, match="train: line 8 differs"):
        assert_same(changed, expected)
    changed = json.loads(json.dumps(expected))
    changed["rejects"] = changed["rejects"][:-1]
    with pytest.raises(AssertionError, match="rejects"):
        assert_same(changed, expected)


def test_seed_corpus_prepares_to_the_reference_digests(tmp_path):
    from tmz_shared import shared_data

    seed = shared_data("oldi_seed_zgh_eng")
    found = digests(_prepare(seed, tmp_path / "out", {"transliterate": True}))
    expected = json.loads(SEED_DIGESTS.read_text(encoding="utf-8"))
    assert found == expected


def _write_references(tmp: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "support"))
    from tmz_shared import shared_data

    DATA.mkdir(exist_ok=True)
    for name, (rows, settings) in SYNTHETIC.items():
        folder = tmp / name
        folder.mkdir()
        found = _prepare(synthetic_corpus(folder, rows), folder / "out", settings)
        with gzip.GzipFile(DATA / f"prepare_{name}.json.gz", "wb", mtime=0) as f:
            f.write(json.dumps(found, ensure_ascii=False, indent=0).encode("utf-8"))
    found = _prepare(shared_data("oldi_seed_zgh_eng"), tmp / "seed", {"transliterate": True})
    SEED_DIGESTS.write_text(json.dumps(digests(found), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        _write_references(Path(d))
