"""Language names as people write them, on top of ``Registry.resolve`` (tags with aliases, dialect columns)."""

from __future__ import annotations

import re
from functools import cache

from tmz.core.errors import RegistryError
from tmz.core.registry import Registry

_TAG = re.compile(r"(.+?)[_-]([A-Za-z]{4})")


class Languages:
    """Cached look-ups of language and dialect names against one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.name = cache(self._name)
        self.dialect = cache(self._dialect)

    def _name(self, name: str) -> tuple[str, str | None]:
        """(code, script or None) for ``English``, ``Tamazight (Tifinagh)``, ``zgh_Tfng``, ``eng_Latn`` ..."""
        try:
            code, script = self.registry.resolve(name)
        except RegistryError as first:
            m = _TAG.fullmatch(name.strip())
            if not m:
                raise
            try:  # a tag whose language part is an alias or a name (eng_Latn, English_Latn)
                code, script = self.registry.resolve(f"{m.group(1)} ({m.group(2)})")
            except RegistryError:
                raise first from None
        if script is not None and script not in self.registry.language(code).scripts:
            scripts = ", ".join(self.registry.language(code).scripts)
            raise RegistryError(f"{name!r}: {code} is not written in {script} here (its scripts: {scripts})")
        return code, script

    def tag(self, tag: str) -> tuple[str, str]:
        """(code, script) for a tag that must name a script."""
        code, script = self.name(tag)
        if script is None:
            scripts = self.registry.language(code).scripts
            if len(scripts) > 1:
                raise RegistryError(f"{tag!r} does not say which script; write e.g. {code}_{scripts[0]}")
            script = scripts[0]
        return code, script

    def _dialect(self, value: str) -> str:
        """The code of a registered Tamazight variety named by a dialect column (code or name)."""
        value = value.strip()
        if value in self.registry.dialects:
            return value
        try:
            code, _ = self.registry.resolve(value)
        except RegistryError:
            code = None
        if code in self.registry.dialects:
            return code
        return self.registry.dialect(value).code  # raises: unknown dialect ... (is its plugin installed?)

    def is_tamazight(self, code: str) -> bool:
        return code in self.registry.dialects
