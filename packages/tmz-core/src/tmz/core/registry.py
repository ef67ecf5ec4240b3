"""What plugins register: languages, dialects, language pairs and model backends, with their sources."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.errors import PluginError, RegistryError
from tmz.core.text import normalise_text

SCRIPTS: dict[str, str] = {"Latn": "Latin", "Tfng": "Tifinagh", "Arab": "Arabic"}
_SCRIPT_ALIASES = {
    "latn": "Latn", "latin": "Latn", "latine": "Latn", "tfng": "Tfng", "tifinagh": "Tfng", "tifinaghe": "Tfng",
    "ⵜⵉⴼⵉⵏⴰⵖ": "Tfng", "arab": "Arab", "arabic": "Arab", "arabe": "Arab", "عربي": "Arab",
}  # fmt: skip


class Normaliser(Protocol):
    """Normalises text of one script (``script`` is an ISO 15924 code such as Tfng or Latn)."""

    def __call__(self, text: str, script: str) -> str: ...


class Transliterator(Protocol):
    """Converts text of a language between two of its scripts."""

    scripts: tuple[str, ...]

    def transliterate(self, text: str, source_script: str, target_script: str) -> str: ...


def default_normaliser(text: str, script: str) -> str:
    """Generic normalisation (NFC, invisible characters, whitespace) for languages without special rules."""
    return normalise_text(text)


@dataclass(frozen=True)
class Language:
    """A language as tmz knows it: code (ISO 639), English name, scripts (the first is the default)."""

    code: str
    name: str
    scripts: tuple[str, ...]
    names: Mapping[str, str] = field(default_factory=dict)  # name in other languages, keyed by code
    aliases: tuple[str, ...] = ()
    tamazight: bool = False


@dataclass(frozen=True)
class Dialect:
    """A Tamazight variety: its own language code, names, scripts, normaliser and transliterator."""

    code: str
    name: str
    scripts: tuple[str, ...]
    normaliser: Normaliser
    transliterator: Transliterator | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def language(self) -> Language:
        return Language(self.code, self.name, self.scripts, self.names, self.aliases, tamazight=True)


@dataclass(frozen=True)
class LanguagePair:
    """A supported translation between two languages, in the direction source -> target."""

    source: str
    target: str


@dataclass(frozen=True, order=True)
class Direction:
    """A pair with scripts: ``en_Latn->zgh_Tfng``."""

    source: str
    source_script: str
    target: str
    target_script: str

    @property
    def tag(self) -> str:
        return f"{self.source}_{self.source_script}->{self.target}_{self.target_script}"

    @classmethod
    def parse(cls, tag: str) -> Direction:
        m = re.fullmatch(r"([a-z]{2,3})_([A-Z][a-z]{3})->([a-z]{2,3})_([A-Z][a-z]{3})", tag)
        if not m:
            raise RegistryError(f"'{tag}' is not a direction; write it as en_Latn->zgh_Tfng")
        return cls(*m.groups())


#: config.json figures that tell apart backends of one architecture and vocabulary (Gemma 3 270M and 1B).
SHAPE_FIGURES = (
    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
)  # fmt: skip


@dataclass(frozen=True)
class ModelBackend:
    """A model family tmz can fine-tune and export, described as data."""

    name: str
    model_id: str  # Hugging Face id, or "local:..." for models built on this machine
    architecture: str  # transformers class name in config.json
    modalities: tuple[str, ...]
    auto_class: str
    lora_targets: str | tuple[str, ...]
    export_task: str  # litert-torch export_hf task
    model_type: str  # on-device (LiteRT-LM) model type
    vocab_size: int
    description: str = ""
    local: bool = False  # built locally (no hub access needed)
    export_options: Mapping[str, Any] = field(default_factory=dict)  # extra litert-torch export_hf arguments
    chat_format: ChatFormat = GEMMA3  # turn markers, stop tokens and chat template (tmz.core.chat_format)
    #: Builds a local backend's base offline: ``build_tiny(out, texts=..., seed=...)`` -> its "model" manifest
    #: (None: tmz-train's tiny Gemma 3).
    build_tiny: Callable[..., Any] | None = None
    #: Raises a :class:`~tmz.core.errors.TmzError` for a checkpoint (directory, config.json) of this family
    #: that litert-torch would convert into a broken model; tmz-export calls it before converting.
    refuse_export: Callable[[Path, Mapping[str, Any]], None] | None = None
    #: Repairs, in place, the model litert-torch loaded for conversion (its ``source.model``) before any part of
    #: it is converted, where litert-torch's own handling of this family is known to be wrong; None: nothing to do.
    prepare_export: Callable[[Any], None] | None = None
    #: Module names or patterns (bitsandbytes' ``llm_int8_skip_modules``: a name prefix, a regex from the start,
    #: or a name suffix) kept out of QLoRA's 4-bit quantization, e.g. weights the model clamps in place while
    #: training. They replace transformers' default list (the output head), so name the output head too.
    quantization_skip_modules: tuple[str, ...] = ()
    #: The published model's text config as keyword arguments of its transformers config class (e.g.
    #: Gemma3TextConfig); its SHAPE_FIGURES tell this backend apart from others of the same architecture and
    #: vocabulary, and bench/ builds random-weight copies from it. Empty: not known.
    text_config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def vision(self) -> bool:
        return "image" in self.modalities

    @property
    def shape(self) -> dict[str, Any]:
        """The SHAPE_FIGURES of :attr:`text_config` (empty when it is not known)."""
        return {k: self.text_config[k] for k in SHAPE_FIGURES if k in self.text_config}

    def fits_shape(self, config: Mapping[str, Any]) -> bool:
        """Whether a checkpoint's (text) config.json has this backend's shape; False when the shape is unknown."""
        return bool(self.shape) and all(config.get(k) == v for k, v in self.shape.items())


Source = str  # the distribution that registered an entry


class Registry:
    """Everything registered, keyed by code or name, with the distribution each entry came from."""

    def __init__(self) -> None:
        self.languages: dict[str, Language] = {}
        self.dialects: dict[str, Dialect] = {}
        self.pairs: dict[tuple[str, str], LanguagePair] = {}
        self.backends: dict[str, ModelBackend] = {}
        self.sources: dict[tuple[str, str], Source] = {}

    # -- registration --------------------------------------------------------------------------------
    def _add(self, table: dict, kind: str, key, value, source: Source) -> None:
        if key in table and table[key] != value:
            raise PluginError(
                f"{kind} {key!r} registered twice (by {self.sources[(kind, str(key))]} and {source}); "
                "uninstall one of the plugins"
            )
        table[key] = value
        self.sources[(kind, str(key))] = source

    def add_language(self, language: Language, source: Source) -> None:
        unknown = [s for s in language.scripts if s not in SCRIPTS]
        if unknown:
            raise PluginError(f"language {language.code!r} from {source} uses unknown scripts {unknown}")
        self._add(self.languages, "language", language.code, language, source)

    def add_dialect(self, dialect: Dialect, source: Source) -> None:
        self._add(self.dialects, "dialect", dialect.code, dialect, source)
        if dialect.code not in self.languages:
            self.add_language(dialect.language(), source)

    def add_pair(self, pair: LanguagePair, source: Source) -> None:
        self._add(self.pairs, "pair", (pair.source, pair.target), pair, source)

    def add_backend(self, backend: ModelBackend, source: Source) -> None:
        self._add(self.backends, "backend", backend.name, backend, source)

    def registrar(self, kind: str, source: Source) -> Callable[..., None]:
        """The ``register`` callable a hook implementation receives."""
        add = {
            "languages": self.add_language,
            "dialects": self.add_dialect,
            "language_pairs": self.add_pair,
            "model_backends": self.add_backend,
        }[kind]
        return lambda obj: add(obj, source)

    # -- look-ups ------------------------------------------------------------------------------------
    def language(self, code: str) -> Language:
        try:
            return self.languages[code]
        except KeyError:
            raise RegistryError(
                f"unknown language code {code!r}; registered: {', '.join(sorted(self.languages))} "
                "(install a dialect plugin for others)"
            ) from None

    def dialect(self, code: str) -> Dialect:
        try:
            return self.dialects[code]
        except KeyError:
            raise RegistryError(
                f"unknown dialect {code!r}; registered: {', '.join(sorted(self.dialects))} "
                "(is its plugin installed? see `tmz plugins`)"
            ) from None

    def backend(self, name: str) -> ModelBackend:
        try:
            return self.backends[name]
        except KeyError:
            raise RegistryError(
                f"unknown backend {name!r}; registered: {', '.join(sorted(self.backends))}"
            ) from None

    def backend_for_architecture(
        self, architecture: str, vocab_size: int | None = None, config: Mapping[str, Any] | None = None
    ) -> ModelBackend:
        """The backend whose architecture (and vocabulary size, when given) a checkpoint matches; where several
        share both, the one whose shape (SHAPE_FIGURES) the checkpoint's text ``config`` (config.json) has.

        Raises RegistryError when none matches the architecture, or when the candidates cannot be told apart.
        """
        found = [b for b in self.backends.values() if b.architecture == architecture]
        if vocab_size is not None:
            exact = [b for b in found if b.vocab_size == vocab_size]
            found = exact or found
        if not found:
            archs = sorted({b.architecture for b in self.backends.values()})
            raise RegistryError(
                f"architecture {architecture!r} matches no registered backend (known: {archs})"
            )
        if len(found) == 1:
            return found[0]
        fitting = [b for b in found if config is not None and b.fits_shape(config)]
        if len(fitting) == 1:
            return fitting[0]
        seen = (
            "no config"
            if config is None
            else f"the config's shape { ({k: config.get(k) for k in SHAPE_FIGURES}) }"
        )
        shapes = "; ".join(f"{b.name}: {b.shape or 'shape unknown'}" for b in found)
        raise RegistryError(
            f"architecture {architecture!r} (vocabulary {vocab_size}) fits several backends ({shapes}) and {seen} "
            "matches not exactly one of them; name the backend (--backend, or the model manifest's backend)"
        )

    def normaliser(self, code: str) -> Normaliser:
        return self.dialects[code].normaliser if code in self.dialects else default_normaliser

    def directions(self) -> list[Direction]:
        """Every supported direction with scripts, from the registered pairs and each language's scripts."""
        out = []
        for pair in self.pairs.values():
            src, tgt = self.language(pair.source), self.language(pair.target)
            out += [Direction(src.code, s, tgt.code, t) for s in src.scripts for t in tgt.scripts]
        return sorted(set(out))

    def supports(self, direction: Direction) -> bool:
        if (direction.source, direction.target) not in self.pairs:
            return False
        return (
            direction.source_script in self.language(direction.source).scripts
            and direction.target_script in self.language(direction.target).scripts
        )

    # -- names as people write them ---------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, str | None]:
        """Map a language name as people write it to (code, script or None).

        Accepts codes and tags (``zgh``, ``zgh_Tfng``, ``tzm-Latn``), names in any registered language
        (``English``, ``Français``, ``العربية``), and a name with a script in parentheses
        (``Tamazight (Tifinagh)``). Raises RegistryError listing what is accepted.
        """
        raw = normalise_text(name)
        key = _fold(raw)
        m = re.fullmatch(r"([a-z]{2,3})[_-]([a-z]{4})", key)
        if m and m.group(1) in self.languages:
            return m.group(1), self._script(m.group(2), raw)
        m = re.fullmatch(r"(.+?)\s*\((.+)\)", key)
        if m:
            code, _ = self.resolve(m.group(1))
            return code, self._script(m.group(2), raw)
        table = self._names()
        if key in table:
            return table[key], None
        raise RegistryError(
            f"unknown language {name!r}; accepted: codes {sorted(self.languages)}, tags like zgh_Tfng or "
            f"tzm-Latn, names {sorted(set(self._display_names()))}, optionally with '(script)'"
        )

    def _script(self, word: str, raw: str) -> str:
        script = _SCRIPT_ALIASES.get(_fold(word)) or {_fold(k): k for k in SCRIPTS}.get(_fold(word))
        if script is None:
            raise RegistryError(f"unknown script in {raw!r}; accepted: {sorted(SCRIPTS)} or their names")
        return script

    def _display_names(self) -> Iterable[str]:
        for lang in self.languages.values():
            yield lang.name
            yield from lang.names.values()

    def _names(self) -> dict[str, str]:
        table: dict[str, str] = {}
        for lang in self.languages.values():
            for n in (lang.code, lang.name, *lang.names.values(), *lang.aliases):
                table.setdefault(_fold(n), lang.code)
        return table


def _fold(s: str) -> str:
    """Case- and accent-insensitive key (Français == francais), keeping non-Latin letters intact."""
    decomposed = unicodedata.normalize("NFD", s.casefold().strip())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
