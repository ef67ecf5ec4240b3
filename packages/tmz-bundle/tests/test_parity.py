"""Both bundle formats, run by LiteRT-LM, give the PyTorch model's greedy tokens on its memorised prompts."""

import pytest

from tmz.bundle import EngineCheckError, inspect_bundle, verify_bundle
from tmz.bundle.verify import translate
from tmz.core.chat_format import GEMMA3
from tmz.core.plugins import get_registry
from tmz.core.prompt import chat_prompt, instruction

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
spm = pytest.importorskip("sentencepiece")

MAX_NEW_TOKENS = 32


def tag(side) -> str:
    return f"{side.language}_{side.script}"


@pytest.fixture(scope="module")
def torch_tokens(tiny_text_model, memorised_text_pairs) -> list[list[int]]:
    """PyTorch greedy token ids for each memorised prompt, up to (not including) the first stop token."""
    tok = transformers.AutoTokenizer.from_pretrained(tiny_text_model)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_text_model).eval()
    stops = set(tok.convert_tokens_to_ids(["<eos>", "<end_of_turn>"]))
    assert memorised_text_pairs, "the train fixture gave no memorised pairs"
    registry = get_registry()
    refs = []
    for pair in memorised_text_pairs:
        prompt = chat_prompt(GEMMA3, registry, pair.source, pair.target, pair.input)
        ids = torch.tensor([[tok.bos_token_id, *tok(prompt, add_special_tokens=False).input_ids]])
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=MAX_NEW_TOKENS,
                                 do_sample=False)[0, ids.shape[1]:].tolist()  # fmt: skip
        refs.append(next((out[:i] for i, t in enumerate(out) if t in stops), out))
    return refs


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_bundles_translate_like_pytorch(tiny_text_bundles, memorised_text_pairs, torch_tokens, fmt):
    path = tiny_text_bundles[fmt]
    info = inspect_bundle(path)
    tokenizer = info.section("TOKENIZER_MODEL" if fmt == "task" else "SP_Tokenizer").read(path)
    sp = spm.SentencePieceProcessor(model_proto=tokenizer)
    registry = get_registry()
    for pair, expected in zip(memorised_text_pairs, torch_tokens, strict=True):
        message = instruction(registry, pair.source, pair.target, pair.input)
        output = translate(path, message, vision=False, max_output_tokens=MAX_NEW_TOKENS)
        assert sp.encode(output) == expected, (fmt, pair.input)
        assert output == pair.answer


def test_verify_smoke_translation_checks_the_expected_text(tiny_text_bundles, memorised_text_pairs):
    pair = memorised_text_pairs[0]
    direction = f"{tag(pair.source)}->{tag(pair.target)}"
    for path in tiny_text_bundles.values():
        report = verify_bundle(path, text=pair.input, direction=direction, expect=pair.answer)
        assert report["smoke"]["output"] == pair.answer and report["smoke"]["direction"] == direction
    with pytest.raises(EngineCheckError, match="expected"):
        verify_bundle(
            tiny_text_bundles["task"], text=pair.input, direction=direction, expect=pair.answer + "!"
        )


def test_vision_bundle_reads_the_memorised_images(tiny_vision_bundle, memorised_image_pairs):
    assert memorised_image_pairs, "the train fixture gave no memorised image pairs"
    registry = get_registry()
    for pair in memorised_image_pairs:
        message = instruction(registry, None, pair.target, None)
        output = translate(
            tiny_vision_bundle, message, vision=True, image=pair.input, max_output_tokens=MAX_NEW_TOKENS
        )
        assert output == pair.answer, pair.input
