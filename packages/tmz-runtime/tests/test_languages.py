"""Requests to prompt sides, and script at the edges."""

import pytest

from tmz.core.plugins import get_registry
from tmz.core.prompt import Side
from tmz.runtime.errors import UnknownLanguageError
from tmz.runtime.languages import direction_of, image_target, sides, to_script

REG = get_registry()


def test_names_tags_and_default_scripts():
    src, tgt = sides(REG, "English", "Tamazight (Latin)", "Where is the hospital?")
    assert (src, tgt) == (Side("en", "Latn"), Side("zgh", "Latn"))
    src, tgt = sides(REG, "fr", "zgh", "Merci")
    assert tgt == Side("zgh", "Tfng")  # the language's first script
    _, tgt = sides(REG, "en", "zgh", "x", script="latin")
    assert tgt.script == "Latn"


def test_source_script_is_detected_from_the_text():
    src, _ = sides(REG, "zgh", "en", "ⴰⵣⵓⵍ")
    assert src.script == "Tfng"
    src, _ = sides(REG, "zgh", "en", "azul")
    assert src.script == "Latn"
    src, _ = sides(REG, "zgh", "en", "azul", src_script="Tfng")
    assert src.script == "Tfng"


def test_dialect_names_the_tamazight_side():
    src, tgt = sides(REG, "en", "Tamazight", "Hello", dialect="tzm")
    assert tgt == Side("tzm", "Tfng", "tzm") and src == Side("en", "Latn")
    src, _ = sides(REG, "Tamazight", "fr", "ⴰⵣⵓⵍ", dialect="Central Atlas Tamazight")
    assert src.language == "tzm"


@pytest.mark.parametrize(
    ("src", "tgt", "kw", "needle"),
    [
        ("en", "klingon", {}, "target language"),
        ("xx", "zgh", {}, "source language"),
        ("en", "fr", {"script": "Tfng"}, "not one of fr's scripts"),
        ("en", "zgh", {"script": "Cyrillic"}, "unknown script"),
        ("en", "fr", {"dialect": "tzm"}, "neither en nor fr is Tamazight"),
        ("en", "zgh", {"dialect": "nope"}, "dialect"),
        ("zgh", "tzm", {}, "does not translate"),
    ],
)
def test_bad_requests_are_named_errors(src, tgt, kw, needle):
    with pytest.raises(UnknownLanguageError, match=needle):
        sides(REG, src, tgt, "text", **kw)


def test_image_target_and_direction_tags():
    tgt = image_target(REG, "zgh_Latn")
    assert tgt == Side("zgh", "Latn")
    assert direction_of(None, tgt) == "und_Zyyy->zgh_Latn"  # the dataset's tag of an image of unknown text
    assert direction_of(Side("en", "Latn"), tgt) == "en_Latn->zgh_Latn"
    with pytest.raises(UnknownLanguageError, match="not Tamazight"):
        image_target(REG, "fr", dialect="tzm")


def test_to_script_converts_only_what_is_in_the_other_script():
    assert to_script(REG, "zgh", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "Latn") == "azul fllawn"
    assert to_script(REG, "zgh", "tanmmirt", "Tfng") == "ⵜⴰⵏⵎⵎⵉⵔⵜ"
    assert to_script(REG, "zgh", "azul", "Latn") == "azul"  # already there
    assert to_script(REG, "zgh", "123 !", "Tfng") == "123 !"  # no letters
    assert to_script(REG, "en", "ⴰⵣⵓⵍ", "Latn") == "ⴰⵣⵓⵍ"  # English has no transliterator
