"""Tamazight text: IRCAM Tifinagh <-> Latin transliteration and the normaliser of look-alike letters."""

from __future__ import annotations

import unicodedata

from tmz.core.errors import RegistryError
from tmz.core.text import Replacer, normalise_text

LABIALISATION_TFNG = "\u2d6f"  # TIFINAGH MODIFIER LETTER LABIALIZATION MARK
LABIALISATION_LATN = "\u02b7"  # MODIFIER LETTER SMALL W

# The 33 letters of the IRCAM standard (ⴳⵯ and ⴽⵯ are ⴳ/ⴽ followed by the labialisation mark).
IRCAM_TFNG_TO_LATN: dict[str, str] = {
    "ⴰ": "a", "ⴱ": "b", "ⴳ": "g", "ⴷ": "d", "ⴹ": "ḍ", "ⴻ": "e", "ⴼ": "f", "ⴽ": "k", "ⵀ": "h",
    "ⵃ": "ḥ", "ⵄ": "ɛ", "ⵅ": "x", "ⵇ": "q", "ⵉ": "i", "ⵊ": "j", "ⵍ": "l", "ⵎ": "m", "ⵏ": "n",
    "ⵓ": "u", "ⵔ": "r", "ⵕ": "ṛ", "ⵖ": "ɣ", "ⵙ": "s", "ⵚ": "ṣ", "ⵛ": "c", "ⵜ": "t", "ⵟ": "ṭ",
    "ⵡ": "w", "ⵢ": "y", "ⵣ": "z", "ⵥ": "ẓ", LABIALISATION_TFNG: LABIALISATION_LATN,
}  # fmt: skip
# Letters outside the 33 that occur in real text (loanwords): still mapped one-to-one both ways.
EXTENDED_TFNG_TO_LATN: dict[str, str] = {"ⵒ": "p", "ⵠ": "v", "ⵞ": "č", "ⴶ": "ǧ"}

# Latin look-alikes people type for Tamazight letters.
# Letters keep their case: Greek capitals become the Latin capitals Ɛ and Ɣ, schwas become e/E.
LATIN_LOOKALIKES: dict[str, str] = {
    "ε": "ɛ", "Ε": "Ɛ", "γ": "ɣ", "Γ": "Ɣ", "ǝ": "e", "ə": "e", "Ə": "E", "Ǝ": "E",
    "ɡ": "g", "ᵡ": "x", "\u1d42": LABIALISATION_LATN,
}  # fmt: skip
# Punctuation look-alikes, unified by the normaliser only (transliteration leaves punctuation alone).
LATIN_PUNCTUATION: dict[str, str] = {"ʼ": "'"}
# Labialisation typed in Tifinagh text with a Latin modifier or an apostrophe-like mark.
TIFINAGH_LOOKALIKES: dict[str, str] = {LABIALISATION_LATN: LABIALISATION_TFNG, "\u1d42": LABIALISATION_TFNG}
_unify_latin = Replacer(str.maketrans(LATIN_LOOKALIKES))
_latin_punctuation = Replacer(str.maketrans(LATIN_PUNCTUATION))
_tifinagh_lookalikes = Replacer(str.maketrans(TIFINAGH_LOOKALIKES))


class IrcamTransliterator:
    """Tifinagh <-> Latin per the IRCAM table; lossless round trip for IRCAM-standard Tifinagh."""

    scripts = ("Tfng", "Latn")

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        table = {**IRCAM_TFNG_TO_LATN, **EXTENDED_TFNG_TO_LATN, **(overrides or {})}
        self.to_latin_table = table
        self.to_tifinagh_table = {lat: tfng for tfng, lat in table.items()}
        if len(self.to_tifinagh_table) != len(table):
            raise RegistryError(
                "transliteration table is not one-to-one: two Tifinagh letters share a Latin one"
            )
        self._longest = max(map(len, self.to_tifinagh_table))
        self._to_latin = str.maketrans(table)
        self._to_tifinagh = str.maketrans(self.to_tifinagh_table) if self._longest == 1 else None

    def to_latin(self, text: str) -> str:
        return unicodedata.normalize("NFC", text).translate(self._to_latin)

    def to_tifinagh(self, text: str) -> str:
        text = unify_latin_letters(text).lower()
        if self._longest == 1:
            return text.translate(self._to_tifinagh)
        out, i = [], 0
        while i < len(text):
            for n in range(min(self._longest, len(text) - i), 0, -1):
                piece = text[i : i + n]
                if piece in self.to_tifinagh_table:
                    out.append(self.to_tifinagh_table[piece])
                    i += n
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def transliterate(self, text: str, source_script: str, target_script: str) -> str:
        if source_script == target_script:
            return text
        if (source_script, target_script) == ("Tfng", "Latn"):
            return self.to_latin(text)
        if (source_script, target_script) == ("Latn", "Tfng"):
            return self.to_tifinagh(text)
        raise RegistryError(
            f"no transliteration from {source_script} to {target_script} (Tfng and Latn only)"
        )


def unify_latin_letters(text: str) -> str:
    """Unify Latin letter look-alikes (ε->ɛ, γ->ɣ, ǝ/ə->e, ɡ->g) and compose ḍ ṛ ṣ ṭ ẓ ḥ (NFC)."""
    return _unify_latin(unicodedata.normalize("NFC", text))


def normalise_latin(text: str) -> str:
    """Letter look-alikes unified (see :func:`unify_latin_letters`) and ʼ written as an apostrophe."""
    return _latin_punctuation(unify_latin_letters(text))


def normalise_tifinagh(text: str) -> str:
    """Write labialisation as U+2D6F in Tifinagh text."""
    return _tifinagh_lookalikes(text)


class TamazightNormaliser:
    """Normaliser of a Tamazight variety: generic clean-up, then the script's look-alike rules."""

    def __init__(self, extra_latin: dict[str, str] | None = None) -> None:
        self.extra_latin = extra_latin or {}
        self._extra_latin = Replacer(str.maketrans(self.extra_latin))

    def __call__(self, text: str, script: str) -> str:
        text = normalise_text(text)
        if script == "Latn":
            text = normalise_latin(text)
            text = self._extra_latin(text)
        elif script == "Tfng":
            text = normalise_tifinagh(text)
        return text
