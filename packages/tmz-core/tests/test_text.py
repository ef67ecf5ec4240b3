"""Language-independent normalisation and script detection."""

import pytest

from tmz.core.text import (
    Replacer,
    char_script,
    dominant_script,
    normalise_text,
    script_counts,
    script_mismatch,
    strip_invisible,
)


def test_invisible_bidi_and_control_characters_go_whitespace_collapses():
    raw = "\ufeff Where\u200b is\u200e the \u202bhospital\u202c?\x00\x07\tNow\r\n"
    assert strip_invisible("a\u200db\x1fc\td") == "abc d"
    assert normalise_text(raw) == "Where is the hospital? Now"


def test_nfc_composes_combining_marks():
    assert normalise_text("d\u0323 s\u0323 e\u0301") == "ḍ ṣ é"


@pytest.mark.parametrize(
    ("ch", "script"),
    [("a", "Latn"), ("ḍ", "Latn"), ("ʷ", "Latn"), ("ⵣ", "Tfng"), ("ⵯ", "Tfng"), ("ب", "Arab"), ("φ", "GREEK"),
     ("1", None), (",", None), ("’", None), ("ʼ", None), (" ", None), ("\u0301", None)],
)  # fmt: skip
def test_char_script_letters_have_a_script_digits_punctuation_and_apostrophes_none(ch, script):
    assert char_script(ch) == script


def test_script_counts_and_dominant_script():
    assert script_counts("ⴰⵣⵓⵍ Amina, 2024!") == {"Tfng": 4, "Latn": 5}
    assert dominant_script("ⴰⵣⵓⵍ ⴼⵍⵍⴰⴽ (Rabat)") == "Tfng"
    assert dominant_script("112 - 15") is None


def test_script_mismatch_names_the_foreign_script():
    assert script_mismatch("ⴰⵣⵓⵍ 112.", "Tfng") is None
    reason = script_mismatch("Bonjour مرحبا", "Latn")
    assert reason is not None and "5 Arab" in reason


def test_replacer_translates_only_texts_holding_its_characters():
    table = str.maketrans({"ε": "ɛ", "-": "", "]": "[", "\\": "/"})  # characters special in a regex class
    replace = Replacer(table)
    for text in ["aεb-c]d\\e", "ε", "no change here", "", "[^]"]:
        assert replace(text) == text.translate(table)
    plain = "nothing to do"
    assert replace(plain) is plain  # untouched texts are returned as they are
    assert Replacer({})("aε") == "aε"
