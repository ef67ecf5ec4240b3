"""The one place tmz's plugin hooks are declared, with what tmz does with each.

A plugin is a module named by an entry point in group ``tmz``; it implements any of these hooks with
``@tmz.core.hookimpl``. tmz's own languages, dialects, backends and commands register through the very
same hooks (see ``tmz.core.builtins``). Each ``register_*`` hook receives a ``register`` callable: call it once
per object (the frozen dataclasses of :mod:`tmz.core.registry`). Registering a code or name that another
distribution registered differently is an error naming both distributions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from tmz.core.registry import Dialect, Language, LanguagePair, ModelBackend

PROJECT = "tmz"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_languages(register: Callable[[Language], None]) -> None:
    """Register languages: ``register(Language(code, name, scripts, names, aliases))`` for each.

    tmz uses them for the names people may write in corpora and commands (``Registry.resolve``) and for the
    labels in prompts.

    :param register: call it once per :class:`~tmz.core.registry.Language`.
    """


@hookspec
def register_dialects(register: Callable[[Dialect], None]) -> None:
    """Register Tamazight varieties: ``register(Dialect(code, name, scripts, normaliser, transliterator, names,
    aliases))``.

    A dialect's code is also a language code (it is registered as a language, ``tamazight=True``, when none
    exists). Its normaliser runs on every text of the variety; its transliterator makes tmz-data's
    ``--transliterate`` twins.

    :param register: call it once per :class:`~tmz.core.registry.Dialect`.
    """


@hookspec
def register_language_pairs(register: Callable[[LanguagePair], None]) -> None:
    """Register supported translations: ``register(LanguagePair(source, target))``, one per direction.

    They decide which directions a dataset may hold (``Registry.directions()``, ``Registry.supports()``):
    the registered pairs times each side's scripts.

    :param register: call it once per :class:`~tmz.core.registry.LanguagePair`.
    """


@hookspec
def register_model_backends(register: Callable[[ModelBackend], None]) -> None:
    """Register model families: ``register(ModelBackend(name, model_id, architecture, ...))``.

    A backend is a model family tmz can fine-tune, merge, export and bundle; users name it with
    ``--backend``.

    :param register: call it once per :class:`~tmz.core.registry.ModelBackend`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``tmz`` CLI: ``cli.add_command(my_group)``.

    :param cli: the ``tmz`` root group.
    """
