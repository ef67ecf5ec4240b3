"""Transliterate Tamazight text with the transliterator of its dialect's plugin."""

from __future__ import annotations

from tmz.core.errors import RegistryError
from tmz.core.plugins import get_registry
from tmz.core.registry import Registry
from tmz.core.text import dominant_script


def transliterate(
    text: str,
    to: str,
    dialect: str = "zgh",
    source_script: str | None = None,
    registry: Registry | None = None,
) -> str:
    """``text`` normalised and written in script ``to`` (Tfng or Latn); the source script is detected if not given."""
    registry = registry or get_registry()
    d = registry.dialect(dialect)
    if d.transliterator is None:
        raise RegistryError(f"dialect {dialect} has no transliterator; its plugin registers none")
    source = source_script or dominant_script(text) or to
    for s in (source, to):
        if s not in d.transliterator.scripts:
            raise RegistryError(
                f"{dialect} transliterates between {', '.join(d.transliterator.scripts)}, not {s}"
            )
    normalised = d.normaliser(text, source)
    return d.normaliser(d.transliterator.transliterate(normalised, source, to), to)
