"""From what a user asks (names, codes, tags, a script, a dialect) to prompt sides, and script at the edges."""

from __future__ import annotations

from tmz.core.dataset import UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT
from tmz.core.errors import RegistryError
from tmz.core.prompt import Side
from tmz.core.registry import SCRIPTS, Direction, Registry
from tmz.core.text import dominant_script
from tmz.runtime.errors import UnknownLanguageError


def _resolve(registry: Registry, name: str, role: str) -> tuple[str, str | None]:
    try:
        return registry.resolve(name)
    except RegistryError as e:
        raise UnknownLanguageError(f"{role} language: {e}") from None


def _check_script(registry: Registry, code: str, script: str, role: str) -> str:
    scripts = registry.language(code).scripts
    if script not in scripts:
        raise UnknownLanguageError(
            f"{role} script {script!r} is not one of {code}'s scripts {list(scripts)}; pass one of those"
        )
    return script


def _dialect(registry: Registry, name: str) -> str:
    """The code of a registered Tamazight variety named by code or name."""
    code = _resolve(registry, name, "dialect")[0]
    if code not in registry.dialects:
        raise UnknownLanguageError(
            f"{name!r} is not a Tamazight variety; registered: {', '.join(sorted(registry.dialects))}"
        )
    return code


def _script_name(script: str | None) -> str | None:
    """An explicit script option (``Tfng``, ``Latin``, ``tifinagh``) as an ISO 15924 code."""
    if script is None:
        return None
    names = {k.casefold(): k for k in SCRIPTS} | {v.casefold(): k for k, v in SCRIPTS.items()}
    try:
        return names[script.strip().casefold()]
    except KeyError:
        raise UnknownLanguageError(
            f"unknown script {script!r}; use one of {sorted(SCRIPTS)} or their names"
        ) from None


def sides(
    registry: Registry,
    src: str,
    tgt: str,
    text: str | None,
    script: str | None = None,
    dialect: str | None = None,
    src_script: str | None = None,
) -> tuple[Side, Side]:
    """Source and target sides of a request.

    ``src``/``tgt`` are codes, tags (``zgh_Latn``) or names (``Tamazight (Tifinagh)``). The target script is
    ``script``, else the tag's, else the language's default. The source script is ``src_script``, else the
    tag's, else the script most letters of ``text`` are written in (when the language has it), else the
    default. ``dialect`` names the Tamazight variety of whichever side is Tamazight.
    Raises UnknownLanguageError for anything unregistered and for a pair tmz does not translate.
    """
    s_code, s_tag = _resolve(registry, src, "source")
    t_code, t_tag = _resolve(registry, tgt, "target")
    if dialect is not None:
        d = _dialect(registry, dialect)
        if registry.language(t_code).tamazight:
            t_code = d
        elif registry.language(s_code).tamazight:
            s_code = d
        else:
            raise UnknownLanguageError(
                f"dialect {dialect!r} given, but neither {s_code} nor {t_code} is Tamazight"
            )
    s_lang, t_lang = registry.language(s_code), registry.language(t_code)
    t_script = _check_script(registry, t_code, _script_name(script) or t_tag or t_lang.scripts[0], "target")
    s_script = _script_name(src_script) or s_tag
    if s_script is None:
        found = dominant_script(text) if text else None
        s_script = found if found in s_lang.scripts else s_lang.scripts[0]
    _check_script(registry, s_code, s_script, "source")
    direction = Direction(s_code, s_script, t_code, t_script)
    if not registry.supports(direction):
        pairs = sorted(f"{a}->{b}" for a, b in registry.pairs)
        raise UnknownLanguageError(
            f"tmz does not translate {direction.tag}; supported pairs: {', '.join(pairs)}"
        )
    s_dialect = s_code if s_lang.tamazight and dialect else None
    t_dialect = t_code if t_lang.tamazight and dialect else None
    return Side(s_code, s_script, s_dialect), Side(t_code, t_script, t_dialect)


def image_target(registry: Registry, tgt: str, script: str | None = None, dialect: str | None = None) -> Side:
    """The target side of an image translation (no source text to pair with)."""
    code, tag = _resolve(registry, tgt, "target")
    if dialect is not None:
        if not registry.language(code).tamazight:
            raise UnknownLanguageError(f"dialect {dialect!r} given, but the target {code} is not Tamazight")
        code = _dialect(registry, dialect)
    lang = registry.language(code)
    t_script = _check_script(registry, code, _script_name(script) or tag or lang.scripts[0], "target")
    return Side(code, t_script, code if dialect else None)


def direction_of(source: Side | None, target: Side) -> str:
    """The direction tag of a request (``und_Zyyy->zgh_Tfng``, as in datasets, for an image without a known
    source language)."""
    s = source or Side(UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT)
    return Direction(s.language, s.script, target.language, target.script).tag


def to_script(registry: Registry, code: str, text: str, script: str) -> str:
    """``text`` written in ``script`` when it is mostly in another script the language's transliterator handles.

    Text already in ``script``, without letters, or of a language without a transliterator comes back as is.
    """
    found = dominant_script(text)
    if found is None or found == script or code not in registry.dialects:
        return text
    translit = registry.dialect(code).transliterator
    if translit is None or found not in translit.scripts or script not in translit.scripts:
        return text
    return translit.transliterate(text, found, script)
