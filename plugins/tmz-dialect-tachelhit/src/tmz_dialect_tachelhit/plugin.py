"""Hook implementations: the Tachelhit dialect and its language pairs with Arabic, French and English."""

from __future__ import annotations

from tmz.core.hookspecs import hookimpl
from tmz.core.registry import Dialect, LanguagePair
from tmz_dialect_tachelhit.orthography import TachelhitNormaliser, transliterator

CODE = "shi"
#: Languages Tachelhit is translated to and from (both directions are registered).
PARTNERS = ("ar", "fr", "en")


def dialect() -> Dialect:
    return Dialect(
        CODE,
        "Tachelhit",
        ("Tfng", "Latn", "Arab"),  # Tifinagh first (IRCAM); Arabic script has the longest written tradition
        TachelhitNormaliser(),
        transliterator(),
        {"fr": "Tachelhit", "ar": "تشلحيت", "zgh": "ⵜⴰⵛⵍⵃⵉⵜ"},
        (
            "Tashelhiyt",
            "Tashelhit",
            "Tashlhiyt",
            "Shilha",
            "Taclḥit",
            "Taclḥiyt",
            "Chleuh",
            "الشلحة",
            "ⵜⴰⵛⵍⵃⵉⵢⵜ",
        ),
    )


@hookimpl
def register_dialects(register):
    register(dialect())


@hookimpl
def register_language_pairs(register):
    for other in PARTNERS:
        register(LanguagePair(CODE, other))
        register(LanguagePair(other, CODE))
