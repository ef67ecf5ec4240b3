"""The ``llm`` settings of an export (docs/contracts.md): what a bundle needs to drive the model on device."""

from __future__ import annotations

from transformers import GenerationConfig, PreTrainedTokenizerBase

from tmz.core.kinds.export import LlmSpec
from tmz.export.checkpoint import Checkpoint
from tmz.export.errors import ChatTemplateError

_PLACEHOLDER = "\x00tmz-user-text\x00"


def stop_token_ids(ckpt: Checkpoint) -> list[int]:
    """The ids that end generation: generation_config.json's eos ids, else config.json's."""
    try:
        eos = GenerationConfig.from_pretrained(ckpt.path).eos_token_id
    except OSError:
        eos = None
    if eos is None:
        eos = ckpt.text_config.get("eos_token_id", ckpt.config.get("eos_token_id"))
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    if not ids:
        raise ChatTemplateError(f"{ckpt.path}: no eos_token_id in generation_config.json or config.json")
    return ids


def prompt_parts(tok: PreTrainedTokenizerBase) -> tuple[str, str]:
    """The text before and after the user's message in one rendered user turn (BOS excluded)."""
    conv = [{"role": "user", "content": [{"type": "text", "text": _PLACEHOLDER}]}]
    rendered = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
    bos = tok.bos_token or ""
    if bos and rendered.startswith(bos):
        rendered = rendered[len(bos) :]
    prefix, _, suffix = rendered.partition(_PLACEHOLDER)
    return prefix, suffix


def llm_metadata(ckpt: Checkpoint, tok: PreTrainedTokenizerBase) -> LlmSpec:
    """How the export is prompted and stopped (``settings.llm``); the start token is "" without a BOS."""
    prefix, suffix = prompt_parts(tok)
    return LlmSpec(
        model_type=ckpt.backend.model_type,
        start_token=tok.bos_token or "",
        stop_tokens=tok.convert_ids_to_tokens(stop_token_ids(ckpt)),
        chat_template=tok.chat_template,
        prompt_prefix=prefix,
        prompt_suffix=suffix,
    )
