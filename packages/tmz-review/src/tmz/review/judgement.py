"""What a reviewer says about one translation: two 1-5 ratings, error tags and an optional correction."""

from __future__ import annotations

from dataclasses import dataclass

#: Error tags a reviewer can set: (stored name, label on the page, accesskey).
ERROR_TAGS: tuple[tuple[str, str, str], ...] = (
    ("mistranslation", "Mistranslation", "m"),
    ("omission", "Omission", "o"),
    ("addition", "Addition", "d"),
    ("wrong_script", "Wrong script", "s"),
    ("wrong_variety", "Wrong variety", "v"),
    ("wrong_register", "Wrong register for an emergency or official text", "g"),
    ("offensive", "Offensive", "x"),
)
ERROR_NAMES = tuple(name for name, _, _ in ERROR_TAGS)
RATINGS = range(1, 6)
#: An unchanged translation with no error tag counts as approved when both ratings are at least this.
APPROVAL_MIN_RATING = 4


@dataclass(frozen=True)
class Judgement:
    """One reviewer's judgement of one item (a re-submission replaces the earlier one)."""

    item_id: int
    reviewer: str
    created: str  # ISO 8601, UTC
    adequacy: int
    fluency: int
    errors: tuple[str, ...]
    correction: str | None  # None: the translation was left as it is
    bundle_sha256: str
    prompt_format: str
    direction: str

    @property
    def approved(self) -> bool:
        """Left unchanged, no error tagged, and rated at least APPROVAL_MIN_RATING on both scales."""
        return (
            self.correction is None
            and not self.errors
            and min(self.adequacy, self.fluency) >= APPROVAL_MIN_RATING
        )
