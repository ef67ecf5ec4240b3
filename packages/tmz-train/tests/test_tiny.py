"""The tiny offline Gemma 3 builder: tokenizer parity, chat template, reloading with transformers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from click.testing import CliRunner
from PIL import Image
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

from tmz.core.builtins import TINY_VOCAB_SIZE
from tmz.core.chat_format import GEMMA3
from tmz.core.cli import cli
from tmz.core.manifest import load_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, chat_prompt, messages
from tmz.train.tiny import build_tiny, prompt_lines
from tmz_shared import shared_data

SAMPLES = [
    "Where is the hospital? I need a doctor.",
    "Où est l'hôpital ? J'ai besoin d'un médecin, s'il vous plaît.",
    "أين المستشفى؟ أحتاج إلى طبيب.",
    "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴱⵉⵟⴰⵔ? ⵔⵉⵖ ⴰⵙⵏⴰⴳ.",
    "Mani illa usbiṭar? Riɣ asnag, tanmmirt. Gʷma ɛli ḍ ḥ ẓ",
    "two  spaces, a\nnewline and digits 2024 and emoji 😀",
]


def _shared_lines(name: str, n: int) -> list[str]:
    with shared_data("oldi_seed_zgh_eng", name).open(encoding="utf-8") as f:
        return [next(f).strip() for _ in range(n)]


@pytest.mark.parametrize("base", ["tiny_text_base", "tiny_vision_base"])
def test_hf_and_sentencepiece_tokenize_identically(base, request):
    path = request.getfixturevalue(base)
    tok = AutoTokenizer.from_pretrained(path)
    sp = spm.SentencePieceProcessor(model_file=str(path / "tokenizer.model"))
    assert len(tok) == sp.get_piece_size() == TINY_VOCAB_SIZE
    texts = SAMPLES + _shared_lines("seed_eng_Latn", 20) + _shared_lines("seed_zgh_Tfng", 20)
    texts += prompt_lines(get_registry())
    for text in texts:
        assert tok(text, add_special_tokens=False)["input_ids"] == sp.encode(text), text
    # special pieces are single tokens on both sides
    for piece in ("<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<image_soft_token>"):
        assert tok.convert_tokens_to_ids(piece) == sp.piece_to_id(piece) > 3
    assert [sp.id_to_piece(i) for i in range(4)] == ["<pad>", "<eos>", "<bos>", "<unk>"]


def test_letters_of_each_script_are_pieces(tiny_text_base):
    sp = spm.SentencePieceProcessor(model_file=str(tiny_text_base / "tokenizer.model"))
    for letter in "aZéçⴰⵣⵖⵯɣḍبعي":
        ids = sp.encode(letter)
        assert len(ids) == 1 and not sp.is_byte(ids[0]), letter


def test_chat_template_renders_strings_and_lists_alike(tiny_vision_base):
    tok = AutoTokenizer.from_pretrained(tiny_vision_base)
    assert Path(tiny_vision_base, tok.vocab_file).name == "tokenizer.model"
    reg = get_registry()
    src, tgt = Side("en", "Latn"), Side("zgh", "Tfng", "zgh")
    conv = messages(reg, src, tgt, "Good morning", "ⵜⵉⴼⴰⵡⵉⵏ")
    flat = [{"role": m["role"], "content": m["content"][0]["text"]} for m in conv]
    as_list = tok.apply_chat_template(conv, tokenize=False)
    assert as_list == tok.apply_chat_template(flat, tokenize=False)
    prompt = tok.apply_chat_template(conv[:1], tokenize=False, add_generation_prompt=True)
    assert prompt == "<bos>" + chat_prompt(GEMMA3, reg, src, tgt, "Good morning")
    image_conv = messages(reg, None, tgt, None)
    rendered = tok.apply_chat_template(image_conv, tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<bos><start_of_turn>user\n<start_of_image>Translate the text in this image")
    assert (Path(tiny_vision_base) / "chat_template.jinja").read_text(encoding="utf-8") == tok.chat_template


def test_text_checkpoint_reloads_and_generates(tiny_text_base):
    manifest = load_manifest(tiny_text_base, expect_kind="model")
    assert manifest.backend == "tiny" and manifest.prompt_format == "tmz-v1"
    tiny = manifest.settings.tiny
    assert tiny.vocab_size == TINY_VOCAB_SIZE and tiny.text_config["hidden_size"] == 64
    assert tiny.vision_config is None and manifest.settings.image_normalisation is None
    model = AutoModelForCausalLM.from_pretrained(tiny_text_base)
    cfg = model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_key_value_heads, cfg.head_dim) == (64, 2, 1, 32)
    assert cfg.vocab_size == TINY_VOCAB_SIZE and cfg.sliding_window == 64
    stops = model.generation_config.eos_token_id
    assert AutoTokenizer.from_pretrained(tiny_text_base).convert_ids_to_tokens(stops) == [
        "<eos>",
        "<end_of_turn>",
    ]
    # cached greedy generation is the argmax of full forward passes, token by token, up to a stop token
    out = model.generate(torch.tensor([[2, 5]]), max_new_tokens=4, do_sample=False)
    ids = [2, 5]
    with torch.no_grad():
        for _ in range(4):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
            if ids[-1] in stops:
                break
    assert out[0].tolist() == ids


def test_vision_checkpoint_sees_images(tiny_vision_base):
    manifest = load_manifest(tiny_vision_base, expect_kind="model")
    assert manifest.backend == "tiny-vision"
    norm = manifest.settings.image_normalisation
    assert norm.do_normalize and norm.image_size == [64, 64]
    assert manifest.settings.tiny.vision_config["image_size"] == 64 and manifest.settings.merged is None
    proc = AutoProcessor.from_pretrained(tiny_vision_base)
    model = AutoModelForImageTextToText.from_pretrained(tiny_vision_base).eval()
    assert proc.image_seq_length == model.config.mm_tokens_per_image == 16
    text = proc.apply_chat_template(
        messages(get_registry(), None, Side("zgh", "Tfng", "zgh"), None), add_generation_prompt=True
    )
    red = Image.new("RGB", (64, 64), (200, 30, 30))
    blue = Image.new("RGB", (64, 64), (20, 40, 220))
    logits = []
    for image in (red, blue):
        batch = proc(images=image, text=text, return_tensors="pt")
        assert (batch["input_ids"] == model.config.image_token_index).sum() == 16
        with torch.no_grad():
            logits.append(
                model(input_ids=batch["input_ids"], pixel_values=batch["pixel_values"]).logits[0, -1]
            )
    assert (logits[0] - logits[1]).abs().max() > 1e-2


def test_tokenizer_learns_given_texts(tmp_path):
    word = "ⵜⴰⵙⴷⴰⵡⵉⵜ"
    build_tiny(tmp_path / "m", texts=[f"{word} {word}."] * 200)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "m" / "tokenizer.model"))
    assert len(sp.encode(word)) <= 2


def test_init_tiny_cli(tmp_path):
    result = CliRunner().invoke(cli, ["train", "init-tiny", str(tmp_path / "tiny")])
    assert result.exit_code == 0, result.output
    assert load_manifest(tmp_path / "tiny", expect_kind="model").backend == "tiny"
    assert "Example" in CliRunner().invoke(cli, ["train", "init-tiny", "--help"]).output


def test_resume_skips_a_checkpoint_whose_save_did_not_complete(tmp_path):
    """A run killed while saving checkpoint-4 resumes from checkpoint-2, the newest save that completed."""
    from tmz.train.sft import last_complete_checkpoint

    assert last_complete_checkpoint(tmp_path / "none") is None
    for step, complete in ((2, True), (4, False), (10, True), (12, False)):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "adapter_model.safetensors").write_bytes(b"x")
        if complete:
            (d / "trainer_state.json").write_text("{}", encoding="utf-8")
    (tmp_path / "checkpoint-x").mkdir()
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-10"
    (tmp_path / "checkpoint-10" / "trainer_state.json").unlink()
    assert last_complete_checkpoint(tmp_path) == tmp_path / "checkpoint-2"


def test_a_corpus_with_more_letters_than_the_vocabulary_holds_builds(tmp_path):
    """The whole seed corpus has more distinct characters than the 512-piece tiny vocabulary holds beside its
    byte pieces (SentencePiece refused it: "Vocabulary size is smaller than required_chars"): the rarest go to
    byte fallback, every text still round-trips, and the tokenizer keeps its size."""
    texts = []
    for name in ("seed_eng_Latn", "seed_zgh_Tfng"):
        texts += shared_data("oldi_seed_zgh_eng", name).read_text(encoding="utf-8").splitlines()
    texts += [chr(c) * 3 for c in range(0x4E00, 0x4E00 + 300)]  # 300 letters of a script tmz has no use for
    build_tiny(tmp_path / "base", texts=texts)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "base" / "tokenizer.model"))
    assert sp.get_piece_size() == TINY_VOCAB_SIZE
    for text in [*texts[:300], *texts[-300:], *SAMPLES]:
        assert sp.decode(sp.encode(text)) == text, text
    assert any(sp.is_byte(i) for i in sp.encode(texts[-1]))  # a rare letter is bytes
    for letter in "aZéⴰⵣⵖ":  # the corpus's common letters stay pieces
        assert [not sp.is_byte(i) for i in sp.encode(letter)] == [True], letter


def test_character_coverage_is_untouched_where_the_letters_fit():
    from tmz.train.tiny import character_coverage

    assert character_coverage(["abc", "a b"], room=4) == 1.0  # a, b, c and the space (▁)
    lines = ["aaaa", "bbb", "cc", "d"]  # 10 letters; keep the top 2 = 7 of them
    cov = character_coverage(lines, room=3, merges=1)
    assert 4 / 10 < cov <= 7 / 10  # SentencePiece stops once the share added reaches it: after a and b
