"""A model family's chat format: turn markers, stop tokens and the jinja chat template rendered from them.

A :class:`~tmz.core.registry.ModelBackend` carries one (Gemma 3's by default). Training saves the template
with every checkpoint, the export checks the checkpoint renders it, and bundles write its turn affixes and stop
tokens, so the device prompts and stops the model the way it was trained. The translation instruction itself
(prompt format ``tmz-v1``, :mod:`tmz.core.prompt`) is the same for every format.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmz.core.errors import PluginError

_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = '' -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif -%}
    {%- if message['role'] == 'assistant' -%}
        {%- set role = '@MODEL@' -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '@START@' + role + '\\n' + (first_user_prefix if loop.first else '') }}
    {%- if message['content'] is string -%}
        {{ message['content'] }}
    {%- else -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '@IMAGE@' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ '@END@\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{ '@START@@MODEL@\\n' }}
{%- endif -%}
"""


@dataclass(frozen=True)
class ChatFormat:
    """How a family marks turns: ``{start}user\\n{text}{end}\\n{start}{model_role}\\n{answer}{end}\\n``.

    ``stop_tokens`` end generation on the device (the turn terminator among them: a fine-tune must learn to
    emit it). ``image_token`` is what an image part renders as in the template.
    """

    name: str  # the chat template's identity, e.g. gemma3
    turn_start: str
    turn_end: str
    stop_tokens: tuple[str, ...]
    model_role: str = "model"
    bos: str = "<bos>"
    image_token: str = "<start_of_image>"

    def __post_init__(self) -> None:
        if self.turn_end not in self.stop_tokens:
            raise PluginError(
                f"chat format {self.name!r}: its turn terminator {self.turn_end!r} is not among its stop tokens "
                f"{list(self.stop_tokens)}; add it, or fine-tuned models never stop"
            )

    @property
    def user_prefix(self) -> str:
        return f"{self.turn_start}user\n"

    @property
    def user_suffix(self) -> str:
        return f"{self.turn_end}\n"

    @property
    def model_prefix(self) -> str:
        """The model's turn opening (where its answer starts)."""
        return f"{self.turn_start}{self.model_role}\n"

    @property
    def model_suffix(self) -> str:
        return f"{self.turn_end}\n"

    @property
    def prompt_suffix(self) -> str:
        """Everything after the user's text up to the model's answer."""
        return self.user_suffix + self.model_prefix

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """The pieces a tokenizer of this format must hold as single tokens."""
        return (self.turn_start, self.turn_end)

    def prompt(self, user_text: str) -> str:
        """One user turn, ending where the model's answer starts (no BOS)."""
        return f"{self.user_prefix}{user_text}{self.prompt_suffix}"

    @property
    def template(self) -> str:
        """The jinja chat template: string or list content (as LiteRT-LM sends it), text not trimmed, image
        parts as ``image_token``. LiteRT-LM drops ``{{ bos_token }}`` and adds BOS itself."""
        out = _TEMPLATE
        for mark, value in (("@START@", self.turn_start), ("@END@", self.turn_end),
                            ("@MODEL@", self.model_role), ("@IMAGE@", self.image_token)):  # fmt: skip
            out = out.replace(mark, value)
        return out


#: Gemma 3 (and Gemma 3n): the default of every backend, the format of every bundle made before formats existed.
GEMMA3 = ChatFormat(name="gemma3", turn_start="<start_of_turn>", turn_end="<end_of_turn>",
                    stop_tokens=("<eos>", "<end_of_turn>"))  # fmt: skip
