import pytest

from tmz.core.chat_format import GEMMA3
from tmz.core.errors import RegistryError
from tmz.core.plugins import PluginSet
from tmz.core.prompt import PROMPT_FORMAT_ID, Side, chat_prompt, check_prompt_format, instruction, messages


@pytest.fixture(scope="module")
def reg():
    return PluginSet(only=set()).registry


def test_instruction_names_languages_and_scripts(reg):
    text = instruction(reg, Side("en", "Latn"), Side("zgh", "Tfng"), "Where is the hospital?")
    assert (
        text
        == "Translate from English to Standard Moroccan Tamazight (Tifinagh script).\nWhere is the hospital?"
    )
    lat = instruction(reg, Side("zgh", "Latn"), Side("fr", "Latn"), "x")
    assert lat.startswith("Translate from Standard Moroccan Tamazight (Latin script) to French.")


def test_dialect_overrides_language_name(reg):
    text = instruction(reg, Side("fr", "Latn"), Side("zgh", "Tfng", dialect="tzm"), "x")
    assert "Central Atlas Tamazight (Tifinagh script)" in text


def test_messages_text_and_image(reg):
    conv = messages(reg, Side("en", "Latn"), Side("zgh", "Tfng"), "Hello", "ⴰⵣⵓⵍ")
    assert conv[0]["role"] == "user" and conv[1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "ⴰⵣⵓⵍ"}],
    }
    assert conv[0]["content"][0]["text"].endswith("\nHello")
    img = messages(reg, None, Side("en", "Latn"), None, "Pharmacy")
    assert img[0]["content"][0] == {"type": "image"}
    assert img[0]["content"][1]["text"] == "Translate the text in this image to English."


def test_gemma_turn(reg):
    assert GEMMA3.prompt("hi") == "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    src, tgt = Side("en", "Latn"), Side("fr", "Latn")
    assert chat_prompt(GEMMA3, reg, src, tgt, "x") == GEMMA3.prompt(instruction(reg, src, tgt, "x"))


def test_unknown_language_or_script(reg):
    with pytest.raises(RegistryError, match="unknown language code 'xx'"):
        instruction(reg, Side("xx", "Latn"), Side("en", "Latn"), "x")
    with pytest.raises(RegistryError, match="unknown script 'Cyrl'"):
        instruction(reg, Side("en", "Cyrl"), Side("fr", "Latn"), "x")


def test_prompt_format_check():
    check_prompt_format(PROMPT_FORMAT_ID, "bundle")
    with pytest.raises(RegistryError, match="prompt format 'tmz-v0' is unknown"):
        check_prompt_format("tmz-v0", "bundle x.task")
