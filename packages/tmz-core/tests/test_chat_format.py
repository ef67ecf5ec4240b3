"""A backend owns its chat format; Gemma 3's is every backend's default and keeps prompt format tmz-v1."""

import pytest

from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.errors import PluginError
from tmz.core.plugins import PluginSet
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, chat_prompt, messages

OTHER = ChatFormat(name="other", turn_start="<|turn>", turn_end="<turn|>", stop_tokens=("<eos>", "<turn|>"))


@pytest.fixture(scope="module")
def reg():
    return PluginSet(only=set()).registry


def test_builtin_backends_keep_gemma3_and_tmz_v1(reg):
    assert {b.chat_format for b in reg.backends.values()} == {GEMMA3}
    assert PROMPT_FORMAT_ID == "tmz-v1"
    assert (GEMMA3.user_prefix, GEMMA3.prompt_suffix) == (
        "<start_of_turn>user\n",
        "<end_of_turn>\n<start_of_turn>model\n",
    )
    assert GEMMA3.stop_tokens == ("<eos>", "<end_of_turn>")


def test_the_one_instruction_rendered_through_each_format(reg):
    src, tgt = Side("en", "Latn"), Side("zgh", "Tfng")
    gemma3, other = chat_prompt(GEMMA3, reg, src, tgt, "Hello"), chat_prompt(OTHER, reg, src, tgt, "Hello")
    assert (
        other
        == "<|turn>user\nTranslate from English to Standard Moroccan Tamazight (Tifinagh script).\nHello"
        "<turn|>\n<|turn>model\n"
    )
    assert gemma3.replace("<start_of_turn>", "<|turn>").replace("<end_of_turn>", "<turn|>") == other


@pytest.mark.parametrize("chat", [GEMMA3, OTHER], ids=lambda c: c.name)
def test_template_renders_the_prompt_and_trains_the_terminator(reg, chat):
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Environment().from_string(chat.template)
    src, tgt = Side("en", "Latn"), Side("fr", "Latn")
    conv = messages(reg, src, tgt, "Hi", "Salut")
    prompt = template.render(messages=conv[:1], bos_token=chat.bos, add_generation_prompt=True)
    assert prompt == chat.bos + chat_prompt(chat, reg, src, tgt, "Hi")
    full = template.render(messages=conv, bos_token=chat.bos, add_generation_prompt=False)
    # the completion TRL computes its loss on ends with the turn terminator, so the model learns to stop
    assert full[len(prompt) :] == f"Salut{chat.turn_end}\n"
    image = template.render(messages=messages(reg, None, tgt, None), bos_token="", add_generation_prompt=True)
    assert image.startswith(f"{chat.user_prefix}{chat.image_token}Translate the text in this image")


def test_a_format_whose_terminator_does_not_stop_is_refused():
    with pytest.raises(
        PluginError, match="turn terminator '<turn\\|>' is not among its stop tokens.*never stop"
    ):
        ChatFormat(name="bad", turn_start="<|turn>", turn_end="<turn|>", stop_tokens=("<eos>",))
