"""The Translator: the phrasebook first, then the bundle's own model on LiteRT-LM, with script at the edges."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any

import litert_lm

from tmz.core.errors import DataError
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, messages
from tmz.core.registry import Registry
from tmz.core.text import dominant_script
from tmz.runtime.bundle import create_engine, open_bundle
from tmz.runtime.errors import EngineError, HistoryError, ModalityError, UnknownLanguageError
from tmz.runtime.history import History
from tmz.runtime.image import load_image
from tmz.runtime.languages import direction_of, image_target, sides, to_script
from tmz.runtime.phrasebook import Phrasebook, PhraseMatch
from tmz.runtime.translation import DEFAULT_MAX_TOKENS, GREEDY, Origin, Sampling, Translation


class TranslationStream(Iterator[str]):
    """Text chunks as the model writes them; ``result`` holds the full Translation once iteration ends."""

    def __init__(self, chunks: Generator[str, None, Translation]) -> None:
        self._chunks = chunks
        self.result: Translation | None = None

    def __next__(self) -> str:
        try:
            return next(self._chunks)
        except StopIteration as done:
            self.result = done.value
            raise StopIteration from None

    def close(self) -> None:
        """Stop generating early (frees the engine for other callers)."""
        self._chunks.close()


class Translator:
    """Translate with one bundle (``.task`` or ``.litertlm``) on LiteRT-LM, as the phone does.

    Every request is rendered with ``tmz.core.prompt`` exactly as in training and sent as the user turn
    through LiteRT-LM's conversation API, which applies the bundle's chat template. A phrasebook, when
    given, answers first; the model is only loaded when a request needs it.

    Thread safety: one engine per Translator, created on first use, behind one lock. Every call opens a
    fresh conversation (nothing carries over between translations) and holds the lock while it
    generates, so calls from several threads run one after another. A stream holds the lock until it is
    exhausted or closed.
    """

    def __init__(
        self,
        bundle: str | os.PathLike[str],
        *,
        phrasebook: Phrasebook | None = None,
        history: History | None = None,
        sampling: Sampling = GREEDY,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_context: int | None = None,
        threads: int | None = None,
        activation: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.registry = registry or get_registry()
        self.bundle = open_bundle(bundle, self.registry)
        self.phrasebook = phrasebook
        self.history = history
        self.sampling = sampling
        self.max_tokens = max_tokens
        self._engine_options: dict[str, Any] = dict(
            max_num_tokens=max_context, threads=threads, activation=activation
        )
        self.history_error: HistoryError | None = None  # why the history was dropped, if it failed
        self._engine: litert_lm.Engine | None = None
        self._lock = threading.Lock()

    # -- engine -------------------------------------------------------------------------------------
    @property
    def engine_loaded(self) -> bool:
        """Whether the model has been loaded (it is not until a request reaches it)."""
        return self._engine is not None

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _generate(self, message: dict[str, Any], sampling: Sampling, max_tokens: int) -> Iterator[str]:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine(self.bundle, **self._engine_options)
            sampler = litert_lm.SamplerConfig(
                top_k=sampling.top_k,
                top_p=sampling.top_p,
                temperature=sampling.temperature,
                seed=sampling.seed,
            )
            try:
                conv = self._engine.create_conversation(sampler_config=sampler, max_output_tokens=max_tokens)
            except RuntimeError as e:
                raise EngineError(f"{self.bundle.path}: cannot start a conversation ({e})") from e
            with conv:
                replies = conv.send_message_async(message)
                try:
                    for reply in replies:
                        yield str(reply.contents)
                except GeneratorExit:  # closed early: stop the native generation before the conversation goes
                    conv.cancel_process()
                    with contextlib.suppress(RuntimeError):
                        for _ in replies:
                            pass
                    raise
                except RuntimeError as e:
                    raise EngineError(
                        f"{self.bundle.path}: generation failed ({e}); a long input may exceed the bundle's "
                        f"context of {self.bundle.context_tokens} tokens"
                    ) from e

    # -- requests -----------------------------------------------------------------------------------
    def translate(
        self,
        text: str,
        src: str,
        tgt: str,
        *,
        script: str | None = None,
        dialect: str | None = None,
        src_script: str | None = None,
        sampling: Sampling | None = None,
        max_tokens: int | None = None,
    ) -> Translation:
        """Translate ``text`` from ``src`` to ``tgt`` (codes, tags like ``zgh_Latn`` or names).

        ``script`` is the target script (default: the tag's, else the language's first), ``dialect`` the
        Tamazight variety, ``src_script`` the source script (default: detected from the text).
        """
        stream = self.stream(
            text, src, tgt, script=script, dialect=dialect, src_script=src_script, sampling=sampling,
            max_tokens=max_tokens,
        )  # fmt: skip
        for _ in stream:
            pass
        assert stream.result is not None
        return stream.result

    def stream(
        self,
        text: str,
        src: str,
        tgt: str,
        *,
        script: str | None = None,
        dialect: str | None = None,
        src_script: str | None = None,
        sampling: Sampling | None = None,
        max_tokens: int | None = None,
    ) -> TranslationStream:
        """Like :meth:`translate`, yielding text as it is generated; bad requests raise here, not later."""
        start = time.perf_counter()
        if not text.strip():
            raise DataError("nothing to translate: the text is empty")
        source, target = sides(self.registry, src, tgt, text, script, dialect, src_script)
        if self.phrasebook is not None and (match := self.phrasebook.lookup(text, source, target)):
            return TranslationStream(self._phrasebook_answer(start, text, source, target, match))
        m_source, m_target, m_text = self._model_sides(source, target, text)
        message = messages(self.registry, m_source, m_target, m_text)[0]
        gen = self._model_answer(start, message, source, target, text, sampling, max_tokens)
        return TranslationStream(gen)

    def translate_image(
        self,
        image: str | os.PathLike[str] | bytes,
        tgt: str,
        *,
        src: str | None = None,
        script: str | None = None,
        dialect: str | None = None,
        src_script: str | None = None,
        sampling: Sampling | None = None,
        max_tokens: int | None = None,
    ) -> Translation:
        """Translate the text in an image (a path or encoded bytes) to ``tgt``; vision bundles only.

        ``src`` names the language of the text in the image when it is known.
        """
        start = time.perf_counter()
        if not self.bundle.vision:
            raise ModalityError(
                f"{self.bundle.path.name} is a text bundle (backend {self.bundle.backend.name}); "
                "translate images with a bundle of a vision backend such as gemma3-4b-vision"
            )
        if src is None:
            source, target = None, image_target(self.registry, tgt, script, dialect)
        else:
            source, target = sides(self.registry, src, tgt, None, script, dialect, src_script)
        png, image_sha = load_image(image)
        m_source, m_target, _ = self._model_sides(source, target, None)
        message = messages(self.registry, m_source, m_target, None)[0]
        message["content"][0] = {"type": "image", "blob": base64.b64encode(png).decode("ascii")}
        gen = self._model_answer(start, message, source, target, None, sampling, max_tokens, image_sha)
        stream = TranslationStream(gen)
        for _ in stream:
            pass
        assert stream.result is not None
        return stream.result

    def complete(
        self, message: dict[str, Any], *, sampling: Sampling | None = None, max_tokens: int | None = None
    ) -> str:
        """The model's answer to one user turn sent as is (no phrasebook, no script conversion, no history)."""
        return "".join(
            self._generate(message, sampling or self.sampling, max_tokens or self.max_tokens)
        ).strip()

    # -- internals ----------------------------------------------------------------------------------
    def _script_variants(self, side: Side | None) -> list[Side | None]:
        """The side itself, then the same language in its other transliterable scripts."""
        if side is None:
            return [None]
        dialect = self.registry.dialects.get(side.language)
        others = dialect.transliterator.scripts if dialect and dialect.transliterator else ()
        return [side, *(replace(side, script=s) for s in others if s != side.script)]

    def _model_sides(
        self, source: Side | None, target: Side, text: str | None
    ) -> tuple[Side | None, Side, str | None]:
        """The sides to prompt the model with: the request's, or (script at the edges) the same languages in
        scripts the bundle was trained on, the source text transliterated to match."""
        known = set(self.bundle.manifest.directions)
        if not known:
            return source, target, text
        for s in self._script_variants(source):
            for t in self._script_variants(target):
                assert t is not None
                fits = (
                    any(d.endswith(f"->{t.language}_{t.script}") for d in known)
                    if text is None
                    else direction_of(s, t) in known
                )
                if fits:
                    if (
                        text is not None
                        and s is not None
                        and source is not None
                        and s.script != source.script
                    ):
                        text = to_script(self.registry, s.language, text, s.script)
                    return s, t, text
        raise UnknownLanguageError(
            f"{self.bundle.path.name} does not translate {direction_of(source, target)}; "
            f"it was trained for {', '.join(sorted(known))}"
        )

    def _phrasebook_answer(
        self, start: float, text: str, source: Side, target: Side, match: PhraseMatch
    ) -> Generator[str, None, Translation]:
        yield match.text
        t = self._translation(
            match.text, "phrasebook", source, target, text, time.perf_counter() - start, None,
            phrase_set=match.phrase.phrase_set, phrase_id=match.phrase.id, converted_from=match.converted_from,
            validation=match.phrase.validation,
        )  # fmt: skip
        return self._record(t)

    def _model_answer(
        self,
        start: float,
        message: dict[str, Any],
        source: Side | None,
        target: Side,
        text: str | None,
        sampling: Sampling | None,
        max_tokens: int | None,
        image_sha256: str | None = None,
    ) -> Generator[str, None, Translation]:
        raw, shown = [], []
        for chunk in self._generate(message, sampling or self.sampling, max_tokens or self.max_tokens):
            out = to_script(self.registry, target.language, chunk, target.script)
            raw.append(chunk)
            shown.append(out)
            yield out
        written = dominant_script("".join(raw))
        converted = written if shown != raw else None
        t = self._translation(
            "".join(shown).strip(), "model", source, target, text, time.perf_counter() - start,
            self.bundle.sha256, converted_from=converted, image_sha256=image_sha256,
        )  # fmt: skip
        return self._record(t)

    def _translation(
        self,
        result: str,
        origin: Origin,
        source: Side | None,
        target: Side,
        text: str | None,
        latency: float,
        bundle_sha256: str | None,
        **extra: Any,
    ) -> Translation:
        return Translation(
            text=result,
            origin=origin,
            direction=direction_of(source, target),
            source_language=source.language if source else None,
            source_script=source.script if source else None,
            target_language=target.language,
            target_script=target.script,
            dialect=target.dialect or (source.dialect if source else None),
            source_text=text,
            latency_s=latency,
            bundle_sha256=bundle_sha256,
            **extra,
        )

    def _record(self, t: Translation) -> Translation:
        """Store ``t`` in the history; a history that fails is dropped (``history_error`` says why), the
        translation is still returned."""
        if self.history is None or not t.text:
            return t
        try:
            return replace(t, history_id=self.history.add(t))
        except HistoryError as e:
            self.history, self.history_error = None, e
            return t
