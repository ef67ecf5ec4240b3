"""The options of ``prepare`` and the column mapping of the command line.

:class:`PrepareOptions` lives in tmz-core (:mod:`tmz.core.kinds.dataset`): it is recorded in every dataset's
settings and embedded in the pipeline config, so its fields, defaults and checks exist once.
"""

from __future__ import annotations

from tmz.core.errors import ConfigError
from tmz.core.kinds.dataset import PrepareOptions

__all__ = ["ALIASES", "PrepareOptions", "parse_mapping"]

#: Names accepted without a mapping (the seed guide's image columns among them).
ALIASES = {
    "image_path": "image",
    "image_source_language": "source_language",
    "image_text": "source_text",
    "text_in_image": "source_text",
}


def parse_mapping(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``["source_text=src", ...]`` (or one comma-separated string) as a column mapping."""
    out: dict[str, str] = {}
    for item in pairs:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ConfigError(
                    f"column mapping {part!r} must look like field=column (e.g. source_text=src)"
                )
            out[key.strip()] = value.strip()
    return out
