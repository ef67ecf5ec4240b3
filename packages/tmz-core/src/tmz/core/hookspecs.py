"""The one place tmz's plugin hooks are declared.

A plugin is a module named by an entry point in group ``tmz``; it implements any of these hooks with
``@tmz.core.hookimpl``. tmz's own languages, dialects, backends and commands register through the very
same hooks (see ``tmz.core.builtins``).
"""

from __future__ import annotations

import pluggy

PROJECT = "tmz"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_languages(register):
    """Register languages: call ``register(tmz.core.registry.Language(...))`` for each."""


@hookspec
def register_dialects(register):
    """Register Tamazight varieties: ``register(Dialect(code, name, scripts, normaliser, transliterator))``.

    A dialect's code is also a language code (it is registered as a language when none exists).
    """


@hookspec
def register_language_pairs(register):
    """Register supported translations: ``register(LanguagePair(source, target))``, one per direction."""


@hookspec
def register_model_backends(register):
    """Register model families: ``register(ModelBackend(name, model_id, ...))``."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``tmz`` CLI: ``cli.add_command(my_group)``."""
