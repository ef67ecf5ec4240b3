"""Checks before converting: each bad checkpoint is refused with its named error, before anything is written."""

import io
import json
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
from transformers import Gemma3TextConfig

from tmz.core.manifest import (
    MANIFEST_NAME,
    ModelManifest,
    Producer,
    list_files,
    load_manifest,
    write_manifest,
)
from tmz.core.plugins import PluginSet
from tmz.export import (
    ArchitectureError,
    ChatTemplateError,
    TokenizerError,
    VisionNormalisationError,
    VocabularyError,
    export,
)
from tmz.export.checkpoint import open_checkpoint, resolve_backend
from tmz.export.checks import check_chat_template, check_tokenizer, check_vocabulary, load_tokenizers

#: tmz's own backends only (no installed plugin).
BUILTINS = PluginSet(only=set()).registry
STRING_ONLY_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def plain_copy(src: Path, dst: Path) -> Path:
    """The checkpoint as a plain Hugging Face directory (no tmz manifest)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(MANIFEST_NAME))
    return dst


def edit_config(path: Path, **changes) -> None:
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(changes)
    (path / "config.json").write_text(json.dumps(cfg))


def refuse(model: Path, out: Path, error: type[Exception], match: str) -> None:
    """export() raises ``error`` before converting: nothing is written."""
    with pytest.raises(error, match=match):
        export(model, out, prefill_lengths=[32], kv_cache=128)
    assert not out.exists()


def test_tiny_checkpoint_passes_every_check(tiny_text_base):
    ckpt = open_checkpoint(tiny_text_base)
    assert ckpt.backend.name == "tiny" and ckpt.manifest is not None
    tok = load_tokenizers(ckpt)
    assert check_vocabulary(ckpt, tok)["config"] == ckpt.backend.vocab_size
    assert check_tokenizer(ckpt, tok)["samples"] > 6
    assert check_chat_template(ckpt, tok)["list_content"]


def test_plain_checkpoint_is_recognised(tiny_text_base, tmp_path):
    ckpt = open_checkpoint(plain_copy(tiny_text_base, tmp_path / "plain"))
    assert ckpt.manifest is None and ckpt.backend.name == "tiny"


def test_wrong_vocabulary_size_is_refused(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "vocab")
    edit_config(model, vocab_size=1000)
    refuse(model, tmp_path / "out", VocabularyError, "vocab_size is 1000")


def test_manifest_backend_with_other_vocabulary_is_refused(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "named")
    manifest = ModelManifest(name="m", producer=Producer.of("tmz-train"), backend="gemma3-1b-text",
                             files=list_files(model))  # fmt: skip
    write_manifest(manifest, model)
    refuse(model, tmp_path / "out", VocabularyError, "gemma3-1b-text")


def test_unknown_architecture_is_refused(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "arch")
    edit_config(model, architectures=["LlamaForCausalLM"])
    refuse(model, tmp_path / "out", ArchitectureError, "LlamaForCausalLM")


def test_sentencepiece_with_default_settings_is_caught(tiny_text_base, tmp_path):
    """A SentencePiece model trained with default settings tokenizes differently in HF and in SentencePiece."""
    model = plain_copy(tiny_text_base, tmp_path / "tok")
    sp = spm.SentencePieceProcessor(model_file=str(model / "tokenizer.model"))
    corpus = [sp.id_to_piece(i).replace("▁", " ") for i in range(sp.get_piece_size())]
    corpus += ["Where is the nearest hospital?", "ⴰⵣⵓⵍ ⴼⵍⵍⴰⵡⵏ", "Translate from English to Tamazight."] * 20
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, vocab_size=300, model_type="bpe", minloglevel=2,
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>"], hard_vocab_limit=False,
    )  # fmt: skip
    (model / "tokenizer.model").write_bytes(buf.getvalue())
    (model / "tokenizer.json").unlink()  # HF now converts the new SentencePiece model
    refuse(model, tmp_path / "out", TokenizerError, "tokenize .* differently")


def test_tokenizer_that_is_not_sentencepiece_is_caught(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "garbage")
    (model / "tokenizer.model").write_bytes(b"not a sentencepiece model")
    refuse(model, tmp_path / "out", TokenizerError, "not a SentencePiece model")


def test_missing_sentencepiece_model_is_caught(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "nosp")
    (model / "tokenizer.model").unlink()
    refuse(model, tmp_path / "out", TokenizerError, "no tokenizer.model")


def test_chat_template_that_only_handles_strings_is_caught(tiny_text_base, tmp_path):
    model = plain_copy(tiny_text_base, tmp_path / "template")
    (model / "chat_template.jinja").write_text(STRING_ONLY_TEMPLATE)
    refuse(model, tmp_path / "out", ChatTemplateError, "list content")


def test_vision_manifest_without_normalisation_is_refused(tiny_vision_base, tmp_path):
    model = plain_copy(tiny_vision_base, tmp_path / "vision")
    manifest = load_manifest(tiny_vision_base)
    assert manifest.settings.image_normalisation is not None
    settings = manifest.settings.model_copy(update={"image_normalisation": None})
    write_manifest(manifest.model_copy(update={"settings": settings}), model)
    refuse(model, tmp_path / "out", VisionNormalisationError, "records no settings.image_normalisation")


def test_vision_normalisation_disagreeing_with_processor_is_refused(tiny_vision_base, tmp_path):
    model = plain_copy(tiny_vision_base, tmp_path / "vision2")
    manifest = load_manifest(tiny_vision_base)
    recorded = manifest.settings.image_normalisation
    assert recorded.do_normalize
    wrong = recorded.model_copy(update={"do_normalize": False})
    settings = manifest.settings.model_copy(update={"image_normalisation": wrong})
    write_manifest(manifest.model_copy(update={"settings": settings}), model)
    refuse(model, tmp_path / "out", VisionNormalisationError, "'do_normalize': False.* image processor does")


def test_vision_normalisation_is_the_processors(tiny_vision_base):
    """The check returns the typed normalisation, equal to the one the manifest records."""
    from tmz.export.checks import check_vision_normalisation

    ckpt = open_checkpoint(tiny_vision_base)
    found = check_vision_normalisation(ckpt)
    assert found == ckpt.manifest.settings.image_normalisation
    assert found.image_size == [ckpt.config["vision_config"]["image_size"]] * 2 and len(found.image_mean) == 3


def gemma3_config_json(backend: str, **changes) -> dict:
    """config.json as transformers writes it for a Gemma3ForCausalLM of ``backend``'s text config."""
    config = Gemma3TextConfig(**BUILTINS.backend(backend).text_config).to_dict()
    return {**config, "architectures": ["Gemma3ForCausalLM"], **changes}


@pytest.mark.parametrize("name", ["gemma3-1b-text", "gemma3-270m-text"])
def test_plain_gemma3_checkpoint_resolves_by_its_shape(tmp_path, name):
    assert resolve_backend(BUILTINS, gemma3_config_json(name), tmp_path, None).name == name


def test_gemma3_checkpoint_of_neither_shape_or_another_than_named_is_refused(tmp_path):
    odd = gemma3_config_json("gemma3-270m-text", num_hidden_layers=12)
    with pytest.raises(ArchitectureError, match=r"config\.json: .*fits several backends.*name the backend"):
        resolve_backend(BUILTINS, odd, tmp_path, None)
    small = gemma3_config_json("gemma3-270m-text")
    shape = r"config\.json: backend 'gemma3-1b-text' has the shape .*'hidden_size': 640"
    with pytest.raises(ArchitectureError, match=shape):
        resolve_backend(BUILTINS, small, tmp_path, "gemma3-1b-text")
