"""Command-line options derived from a pydantic options model, so that defaults and help exist once.

``@click_options(PrepareOptions, exclude={"columns"})`` adds one option per field (``--max-chars``; booleans as
``--x/--no-x``; lists as repeatable options; literals as choices) with the field's default and description, and
``from_options(PrepareOptions, kwargs)`` builds the model back from what click parsed. The Python API takes the
same model, and the pipeline config embeds it: one class holds every default.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar

import click
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from tmz.core.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)
_SCALARS: dict[Any, Any] = {int: click.INT, float: click.FLOAT, str: click.STRING, bool: click.BOOL}


def _unwrap(annotation: Any) -> Any:
    """The annotation without ``| None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _option(name: str, info: FieldInfo, given: str | tuple[str, ...] | None) -> Callable[[F], F]:
    annotation = _unwrap(info.annotation)
    origin = typing.get_origin(annotation)
    names = (given,) if isinstance(given, str) else tuple(given or ())
    long = next((n for n in names if n.startswith("--")), "--" + name.replace("_", "-"))
    short = tuple(n for n in names if not n.startswith("--"))  # e.g. "-q"
    default = info.get_default(call_default_factory=True)
    kw: dict[str, Any] = {"help": info.description, "show_default": True}
    if annotation is bool:
        return click.option(f"{long}/--no-{long.removeprefix('--')}", *short, name, default=default, **kw)
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        kw["show_default"] = False
        return click.option(long, *short, name, multiple=True, type=_SCALARS.get(item, click.STRING), **kw)
    if origin is Literal:
        choice = click.Choice([str(a) for a in typing.get_args(annotation)])
        return click.option(long, *short, name, type=choice, default=default, **kw)
    if annotation not in _SCALARS:
        raise TypeError(
            f"option {name!r}: no command-line form for {annotation!r}; exclude it and add it by hand"
        )
    return click.option(long, *short, name, type=_SCALARS[annotation], default=default, **kw)


def click_options(
    model: type[BaseModel],
    exclude: Iterable[str] = (),
    flags: Mapping[str, str | tuple[str, ...]] | None = None,
) -> Callable[[F], F]:
    """A decorator adding one click option per field of ``model`` (``flags``: other names for a field, e.g.
    ``{"directions": "--direction", "quantization": ("--quantization", "-q")}``)."""
    skip, flags = set(exclude), dict(flags or {})
    chosen = [(n, f) for n, f in model.model_fields.items() if n not in skip]

    def decorate(fn: F) -> F:
        for name, info in reversed(chosen):
            fn = _option(name, info, flags.get(name))(fn)
        return fn

    return decorate


def from_options(model: type[M], values: Mapping[str, Any], **extra: Any) -> M:
    """``model`` from click's parsed values (repeatable options given no value keep the field's default).

    Raises ConfigError naming the option when a value is refused.
    """
    data: dict[str, Any] = {}
    for name in model.model_fields:
        if name in extra:
            data[name] = extra[name]
        elif name in values:
            value = values[name]
            if isinstance(value, tuple):
                if not value:
                    continue
                value = list(value)
            data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            raise ConfigError(f"--{str(first['loc'][0]).replace('_', '-')}: {message}") from None
        for name in sorted(
            model.model_fields, key=len, reverse=True
        ):  # a check across fields: name the flags
            message = re.sub(rf"\b{name}\b(=\.\.\.)?", "--" + name.replace("_", "-"), message)
        raise ConfigError(message) from None
