import pytest
from litert_lm_builder.runtime.proto import llm_metadata_pb2, sampler_params_pb2
from pydantic import ValidationError

from tmz.bundle.errors import BundleError
from tmz.bundle.llm_params import LlmParameters
from tmz.bundle.metadata import SamplerDefaults, bundle_llm, check_llm, llm_metadata, task_parameters
from tmz.core.chat_format import GEMMA3, ChatFormat
from tmz.core.kinds.bundle import Sampler
from tmz.core.kinds.export import LlmSpec

LLM = LlmSpec(
    model_type="gemma3",
    start_token="<bos>",
    stop_tokens=["<eos>", "<end_of_turn>"],
    chat_template="{{ messages }}",
    prompt_prefix=GEMMA3.user_prefix,
    prompt_suffix=GEMMA3.prompt_suffix,
)


def test_task_parameters_use_mediapipe_field_numbers():
    data = task_parameters(LLM).SerializeToString()
    # llm_params.proto: stop_tokens = 5, start_token = 6 (strings: wire type 2)
    assert b"\x2a\x05<eos>" in data and b"\x2a\x0d<end_of_turn>" in data and b"\x32\x05<bos>" in data
    params = LlmParameters.FromString(data)
    assert params.WhichOneof("start_token_union") == "start_token"
    assert params.prompt_template.prompt_prefix + "x" + params.prompt_template.prompt_suffix == GEMMA3.prompt(
        "x"
    )
    user, model = params.prompt_templates.user_template, params.prompt_templates.model_template
    turn = user.prompt_prefix + "x" + user.prompt_suffix + model.prompt_prefix
    assert turn == GEMMA3.prompt("x")
    assert LlmParameters.DESCRIPTOR.fields_by_name["prompt_templates"].number == 17


def test_llm_metadata_is_greedy_gemma3_and_valid_for_the_builder():
    md = llm_metadata_pb2.LlmMetadata.FromString(
        llm_metadata(LLM, 1024, SamplerDefaults()).SerializeToString()
    )
    assert md.llm_model_type.WhichOneof("model_type") == "gemma3"
    assert md.start_token.token_str == "<bos>"
    assert [t.token_str for t in md.stop_tokens] == LLM.stop_tokens
    assert md.sampler_params.type == sampler_params_pb2.SamplerParameters.TOP_P and md.sampler_params.k == 1
    assert md.max_num_tokens == 1024 and md.jinja_prompt_template == LLM.chat_template
    assert md.HasField("supports_thinking") and md.HasField("supports_function_calling")
    sampled = llm_metadata(LLM, 1024, SamplerDefaults(top_k=40, top_p=0.95, temperature=0.7)).sampler_params
    assert sampled.type == sampler_params_pb2.SamplerParameters.TOP_P  # TOP_K is UNIMPLEMENTED in LiteRT-LM
    assert (sampled.k, round(sampled.p, 4), round(sampled.temperature, 4)) == (40, 0.95, 0.7)


def test_bad_llm_settings_are_refused():
    with pytest.raises(ValidationError, match="stop_tokens"):  # an export manifest without them does not load
        LlmSpec(**LLM.model_dump(exclude={"stop_tokens"}))
    assert check_llm(LLM, "export") is LLM
    for stops in ([], ["<eos>", ""]):
        with pytest.raises(BundleError, match="stop_tokens must be a non-empty list of token strings"):
            check_llm(LLM.model_copy(update={"stop_tokens": stops}), "export")
    with pytest.raises(BundleError, match="do not render chat format 'gemma3'"):
        check_llm(LLM.model_copy(update={"prompt_prefix": "<start_of_turn>user "}), "export")
    with pytest.raises(BundleError, match="lack the turn terminator '<end_of_turn>'.*never stop"):
        check_llm(LLM.model_copy(update={"stop_tokens": ["<eos>"]}), "export")
    with pytest.raises(BundleError, match="unknown to LiteRT-LM"):
        llm_metadata(LLM.model_copy(update={"model_type": "gemma9"}), 128, SamplerDefaults())
    with pytest.raises(BundleError, match="top_k >= 1"):
        SamplerDefaults(top_k=0)


def test_bundle_records_the_llm_without_its_chat_template_and_the_sampler_it_writes():
    declared = bundle_llm(LLM)
    assert declared.model_dump() == LLM.model_dump(exclude={"chat_template"})
    assert SamplerDefaults().record() == Sampler()  # one set of sampler defaults
    assert SamplerDefaults(top_k=40, top_p=0.95, temperature=0.7).record().model_dump() == {
        "type": "top_p", "top_k": 40, "top_p": 0.95, "temperature": 0.7
    }  # fmt: skip


@pytest.mark.slow
def test_tokenizer_must_be_sentencepiece_with_the_special_pieces(tmp_path, tiny_text_export):
    from tmz.bundle.metadata import check_tokenizer
    from tmz.core.manifest import load_manifest

    export = load_manifest(tiny_text_export, expect_kind="export")
    sp_model = tiny_text_export / export.settings.components.tokenizer
    check_tokenizer(sp_model, export.settings.llm)
    with pytest.raises(BundleError, match="has no piece for '<start_of_answer>'"):
        check_tokenizer(
            sp_model, export.settings.llm.model_copy(update={"stop_tokens": ["<start_of_answer>"]})
        )
    json_tokenizer = tmp_path / "tokenizer.json"
    json_tokenizer.write_text("{}")
    with pytest.raises(BundleError, match="not a SentencePiece model"):
        check_tokenizer(json_tokenizer, LLM)


#: A family with other turn markers (the shape of Gemma 4's): bundles must carry its affixes, not Gemma 3's.
OTHER = ChatFormat(name="other", turn_start="<|turn>", turn_end="<turn|>", stop_tokens=("<eos>", "<turn|>"))
OTHER_LLM = LLM.model_copy(
    update={"stop_tokens": list(OTHER.stop_tokens), "prompt_prefix": OTHER.user_prefix,
            "prompt_suffix": OTHER.prompt_suffix}
)  # fmt: skip


def test_bundle_metadata_follows_the_backends_chat_format():
    assert check_llm(OTHER_LLM, "export", OTHER) is OTHER_LLM
    with pytest.raises(BundleError, match="lack the turn terminator '<end_of_turn>' of chat format 'gemma3'"):
        check_llm(OTHER_LLM, "export")  # a Gemma 3 backend refuses the other markers
    with pytest.raises(BundleError, match="do not render chat format 'other'"):
        check_llm(LLM.model_copy(update={"stop_tokens": ["<turn|>"]}), "export", OTHER)
    md = llm_metadata(OTHER_LLM, 256, SamplerDefaults(), chat=OTHER)
    turns = md.prompt_templates
    assert (turns.user.prefix, turns.user.suffix, turns.model.prefix, turns.model.suffix) == (
        "<|turn>user\n",
        "<turn|>\n",
        "<|turn>model\n",
        "<turn|>\n",
    )
    user = task_parameters(OTHER_LLM, OTHER).prompt_templates.user_template
    assert user.prompt_prefix + "x" + user.prompt_suffix == "<|turn>user\nx<turn|>\n"
    assert "<start_of_turn>" not in md.SerializeToString().decode("utf-8", "replace")
