"""The plugin manager: loads entry points of group ``tmz`` and builds the registry from their hooks."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

import pluggy

from tmz.core import hookspecs
from tmz.core.registry import Registry

ENTRY_POINT_GROUP = "tmz"
ENV_LOAD = "TMZ_LOAD_PLUGINS"


def is_first_party(ep: EntryPoint) -> bool:
    """Whether an entry point is tmz's own: its module is in the ``tmz`` namespace, which plugins must not use
    (docs/plugins.md). tmz's own always load, whatever TMZ_LOAD_PLUGINS names."""
    return ep.module.partition(".")[0] == "tmz"


@dataclass(frozen=True)
class PluginInfo:
    name: str  # entry point name
    module: str
    distribution: str
    version: str


@dataclass(frozen=True)
class PluginFailure:
    distribution: str
    entry_point: str
    error: str


class PluginSet:
    """Loaded plugins, the ones that failed, and the registry their hooks built."""

    def __init__(self, only: set[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.loaded: list[PluginInfo] = []
        self.failures: list[PluginFailure] = []
        self._load(only)
        self.registry = self._build_registry()

    def _load(self, only: set[str] | None) -> None:
        for ep in sorted(
            entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.dist.name if e.dist else "", e.name)
        ):
            dist = ep.dist.name if ep.dist else "?"
            if only is not None and not is_first_party(ep) and dist not in only and ep.name not in only:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as e:  # a broken plugin must not take the rest down
                self.failures.append(
                    PluginFailure(dist, f"{ep.name} = {ep.value}", f"{type(e).__name__}: {e}")
                )
                continue
            self.loaded.append(PluginInfo(ep.name, ep.value, dist, ep.dist.version if ep.dist else "?"))

    def distribution_of(self, plugin_name: str) -> str:
        for info in self.loaded:
            if info.name == plugin_name:
                return info.distribution
        return plugin_name

    def _build_registry(self) -> Registry:
        registry = Registry()
        # languages before dialects before pairs, so that pairs can name any registered code
        for kind in ("languages", "dialects", "language_pairs", "model_backends"):
            caller = getattr(self.pm.hook, f"register_{kind}")
            for impl in reversed(caller.get_hookimpls()):
                source = self.distribution_of(impl.plugin_name)
                try:
                    impl.function(register=registry.registrar(kind, source))
                except Exception as e:
                    self.failures.append(PluginFailure(source, impl.plugin_name, f"register_{kind}: {e}"))
        return registry

    def add_commands(self, cli) -> dict[str, str]:
        """Let every plugin add commands to ``cli``; returns command name -> distribution."""
        sources: dict[str, str] = {}
        for impl in reversed(self.pm.hook.register_commands.get_hookimpls()):
            before = set(cli.commands)
            source = self.distribution_of(impl.plugin_name)
            try:
                impl.function(cli=cli)
            except Exception as e:
                self.failures.append(PluginFailure(source, impl.plugin_name, f"register_commands: {e}"))
                continue
            sources.update(dict.fromkeys(set(cli.commands) - before, source))
        return sources

    def warn_failures(self) -> None:
        for f in self.failures:
            print(f"tmz: plugin {f.distribution} ({f.entry_point}) skipped: {f.error}", file=sys.stderr)


def _only_from_env() -> set[str] | None:
    value = os.environ.get(ENV_LOAD)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


@cache
def plugin_set() -> PluginSet:
    """The process-wide plugin set (honours ``TMZ_LOAD_PLUGINS=dist1,dist2``; empty loads only tmz's own)."""
    return PluginSet(only=_only_from_env())


def get_registry() -> Registry:
    """The registry built from all loaded plugins."""
    return plugin_set().registry


def reset() -> None:
    """Forget loaded plugins (tests that install a plugin distribution call this)."""
    plugin_set.cache_clear()
