"""Phrase sets: reading the wide csv, exact look-up after normalisation, and bad files as named errors."""

import csv
from pathlib import Path

import pytest

from tmz.core.plugins import get_registry
from tmz.core.prompt import Side
from tmz.core.tamazight import IrcamTransliterator
from tmz.runtime.errors import PhrasebookError
from tmz.runtime.phrasebook import Phrasebook, read_phrase_set

REG = get_registry()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "phrasebook"
EN, FR, AR = Side("en", "Latn"), Side("fr", "Latn"), Side("ar", "Arab")
ZGH_T, ZGH_L = Side("zgh", "Tfng"), Side("zgh", "Latn")


def write(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def book(tmp_path):
    path = write(
        tmp_path,
        "emergency.csv",
        [
            ["id", "en", "fr", "zgh_Tfng"],
            ["h1", "Where is the hospital?", "Où est l'hôpital ?", "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴳⵏⴼ?"],
        ],
    )
    return Phrasebook.load(REG, [path])


def test_exact_match_after_normalisation(book):
    for asked in ("Where is the hospital?", "  where is  the HOSPITAL ", "Where is the hospital\u200b?"):
        match = book.lookup(asked, EN, ZGH_T)
        assert match is not None and match.text == "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴳⵏⴼ?"
        assert (match.phrase.phrase_set, match.phrase.id) == ("emergency", "h1")
    assert book.lookup("Where is the hospital now?", EN, ZGH_T) is None
    assert book.lookup("Where is the hospital?", EN, AR) is None  # no Arabic column


def test_other_script_in_and_out(book):
    match = book.lookup("Where is the hospital?", EN, ZGH_L)
    assert match.text == "mani illa usgnf?" and match.converted_from == "Tfng"
    match = book.lookup("mani illa usgnf", ZGH_L, FR)  # Latin typed, only Tifinagh curated
    assert match.text == "Où est l'hôpital ?"


def test_example_phrase_sets_load_and_are_consistent():
    book = Phrasebook.load(REG, [EXAMPLES])
    assert book.sets == ["daily", "emergency", "government"]
    translit = IrcamTransliterator()
    for phrase in book:
        assert {("en", "Latn"), ("fr", "Latn"), ("ar", "Arab"), ("zgh", "Tfng")} <= phrase.texts.keys()
        assert phrase.texts[("zgh", "Latn")] == translit.to_latin(phrase.texts[("zgh", "Tfng")])
    assert book.lookup("help me", EN, ZGH_L).text == "ɛawn yi!"


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([["en", "klingon"], ["a", "b"]], "column 'klingon' is not a language"),
        ([["en", "zgh"], ["a", "b"]], "does not say which script"),
        ([["en", "fr_Arab"], ["a", "b"]], "not written in Arab"),
        ([["en"], ["a"]], "at least two language columns"),
        ([["en", "fr"], ["a", "b", "c"]], ":2: 3 cells for 2 columns"),
        ([["en", "fr"], ["a", ""]], ":2: a phrase needs text in at least two languages"),
        ([], "empty file"),
        (
            [["en", "fr", "validated_by"], ["a", "b", "two"]],
            ":2: validated_by 'two' is not a number of reviewers",
        ),
        ([["en", "fr", "validated_by"], ["a", "b", "-1"]], ":2: validated_by '-1' is not a number"),
    ],
)
def test_bad_phrase_sets(tmp_path, rows, needle):
    with pytest.raises(PhrasebookError, match=needle):
        read_phrase_set(REG, write(tmp_path, "bad.csv", rows))


def test_unreadable_and_conflicting_files(tmp_path):
    with pytest.raises(PhrasebookError, match="no such phrase set"):
        Phrasebook.load(REG, [tmp_path / "missing.csv"])
    with pytest.raises(PhrasebookError, match="holds no"):
        Phrasebook.load(REG, [tmp_path])
    (tmp_path / "latin1.csv").write_bytes("en,fr\nyes,oui\xe9\n".encode("latin-1"))
    with pytest.raises(PhrasebookError, match="not UTF-8"):
        Phrasebook.load(REG, [tmp_path / "latin1.csv"])
    a = write(tmp_path, "a.csv", [["en", "fr"], ["Yes", "Oui"]])
    b = write(tmp_path, "b.csv", [["en", "fr"], ["yes.", "Si"]])
    with pytest.raises(PhrasebookError, match="with other translations"):
        Phrasebook.load(REG, [a, b])


def test_validated_by_says_how_many_reviewers_approved(tmp_path):
    path = write(tmp_path, "daily.csv", [
        ["id", "en", "zgh_Tfng", "validated_by"],
        ["d1", "Hello", "ⴰⵣⵓⵍ", "2"], ["d2", "Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ", "1"], ["d3", "Water", "ⴰⵎⴰⵏ", ""],
        ["d4", "Bread", "ⴰⵖⵔⵓⵎ", "0"],
    ])  # fmt: skip
    book = Phrasebook.load(REG, [path])
    assert [(p.id, p.validated_by, p.validation) for p in book] == [
        ("d1", 2, "validated by 2 reviewers"), ("d2", 1, "validated by 1 reviewer"),
        ("d3", None, "not validated"), ("d4", 0, "not validated"),
    ]  # fmt: skip
    assert book.lookup("hello", EN, ZGH_T).phrase.validation == "validated by 2 reviewers"
    assert all(p.validated_by is None for p in Phrasebook.load(REG, [EXAMPLES]))  # the column is optional
