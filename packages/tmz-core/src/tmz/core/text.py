"""Language-independent text normalisation and script detection (digits and punctuation are neutral)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from functools import cache

# Zero-width characters, bidi marks/embeddings/isolates and the BOM: invisible, and never meaningful here.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x200E, 0x200F, 0x061C]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_SPACE = re.compile(r"\s+")
_UNICODE_SCRIPT = {"LATIN": "Latn", "TIFINAGH": "Tfng", "ARABIC": "Arab"}
_LATIN_MODIFIERS = {"\u02b7"}  # MODIFIER LETTER SMALL W: Tamazight labialisation in Latin script
# Other spacing modifier letters (ʼ ʻ ˈ ...) are apostrophes and stress marks used with any script: neutral.
_NEUTRAL_PREFIX = "MODIFIER LETTER "


# Control characters (category Cc is exactly U+0000-U+001F and U+007F-U+009F) go too; the
# whitespace ones among them become spaces.
_STRIP = {
    **_INVISIBLE,
    **dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)]),
    **{ord(c): " " for c in "\t\n\r\v\f"},
}


class Replacer:
    """``str.translate`` with ``table`` (a ``str.maketrans`` table), skipped for texts holding none of its
    characters: one regex search costs a tenth of a translate, and most texts need no change."""

    def __init__(self, table: Mapping[int, str | int | None]) -> None:
        self.table = table
        self._has = re.compile("[" + "".join(re.escape(chr(c)) for c in table) + "]") if table else None

    def __call__(self, text: str) -> str:
        if self._has is None or not self._has.search(text):
            return text
        return text.translate(self.table)


_strip = Replacer(_STRIP)


def strip_invisible(text: str) -> str:
    """Drop zero-width, bidi and control characters (tabs and newlines become spaces)."""
    return _strip(text)


def normalise_text(text: str) -> str:
    """NFC, invisible characters removed, whitespace collapsed and trimmed."""
    text = unicodedata.normalize("NFC", strip_invisible(text))
    if text.isprintable() and "  " not in text:  # no whitespace but single spaces (others are unprintable)
        return text.strip()
    return _SPACE.sub(" ", text).strip()


@cache
def char_script(ch: str) -> str | None:
    """ISO 15924 code of a letter's script (Latn, Tfng, Arab, or e.g. GREEK), None for neutral characters."""
    if ch in _LATIN_MODIFIERS:
        return "Latn"
    cat = unicodedata.category(ch)
    if not (cat.startswith("L") or cat == "Mn" and unicodedata.combining(ch) == 0):
        return None
    name = unicodedata.name(ch, "")
    if not name or name.startswith(_NEUTRAL_PREFIX):
        return None
    head = name.split(" ", 1)[0]
    return _UNICODE_SCRIPT.get(head, head)


def script_counts(text: str) -> Counter[str]:
    """How many letters of each script a text holds; digits, punctuation and marks count for none."""
    counts: Counter[str] = Counter()
    for ch, n in Counter(text).items():
        if (script := char_script(ch)) is not None:
            counts[script] += n
    return counts


def dominant_script(text: str) -> str | None:
    """The script most letters of ``text`` belong to, or None for text without letters."""
    counts = script_counts(text)
    return counts.most_common(1)[0][0] if counts else None


def script_mismatch(text: str, script: str) -> str | None:
    """A reason why ``text`` is not written in ``script`` (any letter of another script), else None."""
    counts = script_counts(text)
    foreign = {s: n for s, n in counts.items() if s != script}
    if not foreign:
        return None
    detail = ", ".join(f"{n} {s}" for s, n in sorted(foreign.items(), key=lambda kv: -kv[1]))
    return f"declared script {script} but the text holds letters of another script ({detail})"
