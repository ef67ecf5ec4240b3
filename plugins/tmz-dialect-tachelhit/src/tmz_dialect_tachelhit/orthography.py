"""Tachelhit spelling where it differs from what tmz-core's IRCAM normaliser already unifies.

Tachelhit does not spirantise stops, so none of the Tarifit/Kabyle spirant marks apply, and every letter it
writes is in the IRCAM table: the transliterator is tmz-core's IRCAM one without overrides. The one rule
added here is a convention, not a rule validated on a Tachelhit corpus: labialised velars and uvulars
(gʷ kʷ xʷ qʷ ɣʷ) are typed with a degree sign (``k°``, ``g°``) in older French-era transcriptions and on
keyboards without ʷ; after one of those consonants the sign becomes the labialisation mark of the script.
A plain ``w`` after them is left alone: ``gw`` is also an ordinary letter sequence.
"""

from __future__ import annotations

from tmz.core.tamazight import (
    LABIALISATION_LATN,
    LABIALISATION_TFNG,
    IrcamTransliterator,
    TamazightNormaliser,
)

#: Signs typed for labialisation: the degree sign and its look-alike, the masculine ordinal indicator.
DEGREE_SIGNS = frozenset("°º")
#: Consonants Tachelhit labialises, per script, with the script's labialisation mark.
LABIALISABLE: dict[str, tuple[frozenset[str], str]] = {
    "Latn": (frozenset("gkxqɣGKXQƔ"), LABIALISATION_LATN),
    "Tfng": (frozenset("ⴳⴽⵅⵇⵖ"), LABIALISATION_TFNG),
}


def write_labialisation(text: str, script: str) -> str:
    """Turn a degree sign right after a labialisable consonant into the script's labialisation mark."""
    if script not in LABIALISABLE:
        return text
    consonants, mark = LABIALISABLE[script]
    out: list[str] = []
    for ch in text:
        out.append(mark if ch in DEGREE_SIGNS and out and out[-1] in consonants else ch)
    return "".join(out)


class TachelhitNormaliser(TamazightNormaliser):
    """tmz-core's Tamazight normaliser, then Tachelhit's labialisation convention."""

    def __call__(self, text: str, script: str) -> str:
        return write_labialisation(super().__call__(text, script), script)


def transliterator() -> IrcamTransliterator:
    """IRCAM Tifinagh <-> Latin, unchanged: Tachelhit needs no letter outside the table."""
    return IrcamTransliterator()
