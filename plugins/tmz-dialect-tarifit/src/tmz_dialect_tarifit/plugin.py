"""Hook implementations: the Tarifit dialect and its language pairs with Arabic, French and English."""

from __future__ import annotations

from tmz.core.hookspecs import hookimpl
from tmz.core.registry import Dialect, LanguagePair
from tmz_dialect_tarifit.orthography import TarifitNormaliser, TarifitTransliterator

CODE = "rif"
#: Languages Tarifit is translated to and from (both directions are registered).
PARTNERS = ("ar", "fr", "en")


def dialect() -> Dialect:
    return Dialect(
        CODE,
        "Tarifit",
        ("Latn", "Tfng", "Arab"),  # Latin first: the script most Tarifit writing uses
        TarifitNormaliser(),
        TarifitTransliterator(),
        {"fr": "Rifain", "ar": "الريفية", "zgh": "ⵜⴰⵔⵉⴼⵉⵜ"},
        ("Riffian", "Tarifiyt", "Rif Berber", "Riffian Berber", "تاريفيت"),
    )


@hookimpl
def register_dialects(register):
    register(dialect())


@hookimpl
def register_language_pairs(register):
    for other in PARTNERS:
        register(LanguagePair(CODE, other))
        register(LanguagePair(other, CODE))
