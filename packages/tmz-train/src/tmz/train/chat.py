"""The chat template every tmz checkpoint carries (training, export and the device all use it): its backend's
(:attr:`tmz.core.chat_format.ChatFormat.template`).

It accepts message content as a string or as a list of parts (LiteRT-LM sends lists), renders image parts as
the format's image token and does not trim text, so a rendered user turn equals
:func:`tmz.core.prompt.chat_prompt`. LiteRT-LM drops ``{{ bos_token }}`` and adds BOS itself; Hugging Face keeps it.
"""

from __future__ import annotations

from typing import Any

from tmz.core.chat_format import GEMMA3, ChatFormat

CHAT_TEMPLATE_FILE = "chat_template.jinja"

#: Gemma 3's template (the default backends' chat format); a backend's own is ``backend.chat_format.template``.
CHAT_TEMPLATE = GEMMA3.template


def stop_ids(tok: Any, chat: ChatFormat = GEMMA3) -> list[int]:
    """The ids greedy generation stops at: the tokenizer's EOS and the format's stop tokens (its turn end)."""
    ids = [tok.eos_token_id, *tok.convert_tokens_to_ids(list(chat.stop_tokens))]
    return list(dict.fromkeys(i for i in ids if i is not None))
