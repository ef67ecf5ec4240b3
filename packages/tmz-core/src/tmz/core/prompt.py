"""The one translation prompt (format ``tmz-v1``), shared by training and inference.

Training conversations (TRL ``messages``) and on-device prompts are both rendered here, so they can
never drift apart. The id travels in every manifest and bundle; the runtime refuses formats it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tmz.core.errors import RegistryError
from tmz.core.registry import SCRIPTS, Registry

PROMPT_FORMAT_ID = "tmz-v1"
KNOWN_PROMPT_FORMATS = frozenset({PROMPT_FORMAT_ID})

#: Gemma's turn markers (the user turn the model sees, and where its answer starts and ends).
START_OF_TURN, END_OF_TURN = "<start_of_turn>", "<end_of_turn>"
USER_PREFIX = f"{START_OF_TURN}user\n"
MODEL_PREFIX = f"{END_OF_TURN}\n{START_OF_TURN}model\n"


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


def gemma_prompt(user_text: str) -> str:
    """The Gemma chat rendering of one user turn, ending where the model's answer starts (no BOS)."""
    return f"{USER_PREFIX}{user_text}{MODEL_PREFIX}"


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
