"""IRCAM transliteration and Tamazight look-alike normalisation (real data from ../shared/data)."""

import unicodedata
from itertools import groupby

import pytest

from tmz.core.errors import RegistryError
from tmz.core.tamazight import (
    IRCAM_TFNG_TO_LATN,
    LABIALISATION_TFNG,
    IrcamTransliterator,
    TamazightNormaliser,
    normalise_latin,
)
from tmz.core.text import char_script, dominant_script, script_counts
from tmz_shared import shared_data

TABLE = "ircam_tifinagh_latin.tsv"
SEED = ("oldi_seed_zgh_eng", "seed_zgh_Tfng")
ircam = IrcamTransliterator()


def test_table_is_the_ircam_standard_file():
    rows = [
        line.split("\t") for line in shared_data(TABLE).read_text(encoding="utf-8").splitlines()[1:] if line
    ]
    assert len(rows) == 33
    for tfng, codepoints, latin, _ in rows:
        assert " ".join(f"U+{ord(c):04X}" for c in tfng) == codepoints
        assert ircam.to_latin(tfng) == latin, tfng
        assert ircam.to_tifinagh(latin) == tfng, latin
    # every single letter of the file, and nothing else of the 33, is in the table
    singles = {t for t, *_ in rows if len(t) == 1} | {LABIALISATION_TFNG}
    assert set(IRCAM_TFNG_TO_LATN) == singles


def test_labialised_letters_and_e_both_ways():
    assert ircam.to_latin("ⴰⴳⵯⴻⵍⵍⵉⴷ ⴰⴽⵯⴰⵢ") == "agʷellid akʷay"
    assert ircam.to_tifinagh("agʷellid akʷay") == "ⴰⴳⵯⴻⵍⵍⵉⴷ ⴰⴽⵯⴰⵢ"
    assert ircam.transliterate("ⵜⴰⵏⵎⵎⵉⵔⵜ", "Tfng", "Tfng") == "ⵜⴰⵏⵎⵎⵉⵔⵜ"


def test_latin_lookalikes_are_unified_and_case_kept():
    assert normalise_latin("εlli γ ǝ ə ɡ Γ Ε ʼ") == "ɛlli ɣ e e g Ɣ Ɛ '"
    assert normalise_latin("d\u0323 r\u0323 s\u0323 t\u0323 z\u0323 h\u0323") == "ḍ ṛ ṣ ṭ ẓ ḥ"
    # typed look-alikes transliterate like the real letters
    assert ircam.to_tifinagh("γεǝ") == ircam.to_tifinagh("ɣɛe") == "ⵖⵄⴻ"


def test_tamazight_normaliser_per_script():
    norm = TamazightNormaliser()
    assert norm(" ⴰⴳʷ\u200bⵍⵍⵉⴷ  ", "Tfng") == "ⴰⴳⵯⵍⵍⵉⴷ"  # labialisation written as U+2D6F
    assert norm("Ǝ\u200d tamaziγt ", "Latn") == "E tamaziɣt"
    assert TamazightNormaliser({"ṯ": "t"})("ṯ", "Latn") == "t"


def test_transliteration_leaves_punctuation_alone():
    assert ircam.to_tifinagh("d ʼ“a”") == "ⴷ ʼ“ⴰ”"


def _tifinagh_runs_round_trip(line: str) -> str:
    """Round trip every run of Tifinagh letters and neutral characters; runs of other scripts stay as they are."""
    out = []
    for tifinagh_or_neutral, run in groupby(line, key=lambda c: char_script(c) in (None, "Tfng")):
        text = "".join(run)
        out.append(ircam.to_tifinagh(ircam.to_latin(text)) if tifinagh_or_neutral else text)
    return "".join(out)


def test_every_real_line_is_tifinagh_and_round_trips():
    lines = shared_data(*SEED).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6193
    pure = 0
    for n, line in enumerate(lines, 1):
        assert unicodedata.is_normalized("NFC", line)
        assert dominant_script(line) == "Tfng", n
        assert _tifinagh_runs_round_trip(line) == line, n
        if set(script_counts(line)) == {"Tfng"}:  # no names in another script: the whole line round-trips
            pure += 1
            latin = ircam.to_latin(line)
            assert ircam.to_tifinagh(latin) == line, n
            assert "Tfng" not in script_counts(latin) or any(c in line for c in "ⵈⴴⵁ"), n
    assert pure > 5800


def test_overrides_change_letters_both_ways_and_must_stay_one_to_one():
    """`IrcamTransliterator(overrides=...)`: Tifinagh letter -> Latin, applied both ways (multi-letter Latin
    included); an override that gives two letters one Latin spelling is refused; the default table is untouched."""
    custom = IrcamTransliterator(overrides={"ⵛ": "ch", "ⵊ": "dj"})
    assert custom.to_latin("ⵛⴰⵊ ⴰⵛⵛⵓ") == "chadj achchu"
    assert custom.to_tifinagh("chadj achchu") == "ⵛⴰⵊ ⴰⵛⵛⵓ"
    assert custom.transliterate("ⵛⴰⵊ", "Tfng", "Latn") == "chadj"
    assert ircam.to_latin("ⵛⴰⵊ") == "caj" and IrcamTransliterator().to_tifinagh("caj") == "ⵛⴰⵊ"
    with pytest.raises(RegistryError, match="not one-to-one"):
        IrcamTransliterator(overrides={"ⵛ": "s"})
