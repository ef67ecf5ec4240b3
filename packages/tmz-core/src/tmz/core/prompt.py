"""The one translation prompt (format ``tmz-v1``), shared by training and inference.

Training conversations (TRL ``messages``) and on-device prompts are both rendered here, so they can
never drift apart. The id travels in every manifest and bundle; the runtime refuses formats it does not know.
The id names the instruction and the conversation, not the turn markers: each backend renders the same
instruction through its own chat format (:mod:`tmz.core.chat_format`; Gemma 3's unless the backend says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tmz.core.chat_format import ChatFormat
from tmz.core.errors import RegistryError
from tmz.core.registry import SCRIPTS, Registry

PROMPT_FORMAT_ID = "tmz-v1"
KNOWN_PROMPT_FORMATS = frozenset({PROMPT_FORMAT_ID})


@dataclass(frozen=True)
class Side:
    """One side of a translation: language code, script, and (for Tamazight) the variety."""

    language: str
    script: str
    dialect: str | None = None


def _label(registry: Registry, side: Side) -> str:
    code = side.dialect or side.language
    lang = registry.language(code)
    if side.script not in SCRIPTS:
        raise RegistryError(f"unknown script {side.script!r}; use one of {sorted(SCRIPTS)}")
    return f"{lang.name} ({SCRIPTS[side.script]} script)" if len(lang.scripts) > 1 else lang.name


def instruction(registry: Registry, source: Side | None, target: Side, text: str | None) -> str:
    """The user-turn text of format tmz-v1; ``text`` None means the source is an image."""
    tgt = _label(registry, target)
    if text is None:
        src = f" {_label(registry, source)}" if source else ""
        return f"Translate the{src} text in this image to {tgt}."
    return (
        f"Translate from {_label(registry, source)} to {tgt}.\n{text}"
        if source
        else f"Translate to {tgt}.\n{text}"
    )


def chat_prompt(
    chat: ChatFormat, registry: Registry, source: Side | None, target: Side, text: str | None
) -> str:
    """The instruction as one user turn of ``chat`` (a backend's ``chat_format``), ending where the model's
    answer starts (no BOS)."""
    return chat.prompt(instruction(registry, source, target, text))


def messages(
    registry: Registry, source: Side | None, target: Side, text: str | None, answer: str | None = None
) -> list[dict[str, Any]]:
    """A TRL ``messages`` conversation: a user turn (text, or image + text) and the assistant's answer.

    Content is always a list of parts (as LiteRT-LM sends it, and one Arrow type for every row); an image
    conversation starts its user turn with an image part, to be paired with the row's image.
    """
    parts: list[dict[str, Any]] = [{"type": "text", "text": instruction(registry, source, target, text)}]
    if text is None:
        parts.insert(0, {"type": "image"})
    conv: list[dict[str, Any]] = [{"role": "user", "content": parts}]
    if answer is not None:
        conv.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return conv


def check_prompt_format(format_id: str | None, where: str) -> None:
    """Refuse an artifact whose prompt format this tmz does not know."""
    if format_id not in KNOWN_PROMPT_FORMATS:
        raise RegistryError(
            f"{where}: prompt format {format_id!r} is unknown to this tmz-core "
            f"(knows {sorted(KNOWN_PROMPT_FORMATS)}); upgrade tmz-core or rebuild the artifact"
        )
