"""How a text is marked up on the page: its BCP 47 language tag and its writing direction."""

from __future__ import annotations

RIGHT_TO_LEFT = frozenset({"Arab"})


def lang_tag(language: str, script: str) -> str:
    """``zgh`` in ``Tfng``: ``zgh-Tfng``."""
    return f"{language}-{script}"


def text_dir(script: str) -> str:
    """``rtl`` for Arabic script, else ``auto`` (the browser decides from the first strong letter)."""
    return "rtl" if script in RIGHT_TO_LEFT else "auto"
