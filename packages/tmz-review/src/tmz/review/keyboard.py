"""The on-screen Tifinagh keyboard: every letter of the IRCAM standard, from tmz-core's table."""

from __future__ import annotations

from tmz.core.tamazight import IRCAM_TFNG_TO_LATN, LABIALISATION_TFNG

#: (Tifinagh letter, its Latin transliteration) in the order of the IRCAM table; the labialisation mark last.
KEYS: tuple[tuple[str, str], ...] = tuple(
    sorted(IRCAM_TFNG_TO_LATN.items(), key=lambda kv: kv[0] == LABIALISATION_TFNG)
)
