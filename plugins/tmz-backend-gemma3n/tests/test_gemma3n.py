"""The Gemma 3n backend installed from its wheel, and its facts checked against the installed libraries."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from tmz.core.plugins import PluginSet

DIST = "tmz-backend-gemma3n"
NAME = "gemma3n-e2b-text"


@pytest.fixture
def registry(install_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    ps = PluginSet()
    assert not [f for f in ps.failures if f.distribution == DIST]
    return ps.registry


@pytest.fixture
def backend(registry):
    return registry.backend(NAME)


def test_registered_like_a_builtin(registry, backend):
    assert registry.sources[("backend", NAME)] == DIST
    assert backend.model_id == "google/gemma-3n-E2B-it" and not backend.vision and not backend.local
    # a merged checkpoint's config.json (architecture, vocabulary) leads back to this backend
    assert registry.backend_for_architecture("Gemma3nForConditionalGeneration", 262400) == backend
    assert "gemma3-1b-text" in registry.backends  # the built-ins are untouched


def test_architecture_vocab_and_auto_class_match_transformers(backend):
    pytest.importorskip("transformers")
    import transformers
    from transformers.models.auto import modeling_auto
    from transformers.models.gemma3n.configuration_gemma3n import Gemma3nConfig

    assert modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["gemma3n"] == backend.architecture
    assert modeling_auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES["gemma3n"] == backend.architecture
    assert hasattr(transformers, backend.architecture) and hasattr(transformers, backend.auto_class)
    assert Gemma3nConfig().text_config.vocab_size == backend.vocab_size


def test_lora_targets_hit_only_the_language_model_projections(backend):
    torch = pytest.importorskip("torch")
    from transformers.models.gemma3n import configuration_gemma3n as conf
    from transformers.models.gemma3n import modeling_gemma3n as modeling

    text = conf.Gemma3nTextConfig(
        vocab_size=64, vocab_size_per_layer_input=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=8, hidden_size_per_layer_input=4,
        num_kv_shared_layers=0, laurel_rank=2, altup_num_inputs=2, layer_types=["sliding_attention", "full_attention"],
    )  # fmt: skip
    audio = conf.Gemma3nAudioConfig(
        hidden_size=16, conf_num_hidden_layers=1, conf_num_attention_heads=2, input_feat_size=8,
        sscp_conv_channel_size=[4, 4],
    )  # fmt: skip
    with torch.device("meta"):  # Gemma3nModel's own attribute names; its vision tower needs timm
        towers = {
            "model.language_model": modeling.Gemma3nTextModel(text),
            "model.audio_tower": modeling.Gemma3nAudioEncoder(audio),
        }
    linear = [
        f"{prefix}.{name}"
        for prefix, tower in towers.items()
        for name, module in tower.named_modules()
        if isinstance(module, torch.nn.Linear)
    ]
    hit = {n for n in linear if re.fullmatch(backend.lora_targets, n)}
    expected = {
        f"model.language_model.layers.{i}.{p}"
        for i in range(2)
        for p in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                  "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
    }  # fmt: skip
    assert hit == expected
    assert any(
        n.startswith("model.audio_tower") and n.endswith("q_proj") for n in linear
    )  # why not a name list


def _litert_torch_source(relative: str) -> ast.Module:
    spec = importlib.util.find_spec("litert_torch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("litert-torch is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "generative" / "export_hf" / relative
    return ast.parse(path.read_text())


def test_export_task_and_model_type_are_litert_torch_names(backend):
    # read from litert-torch's source: importing it takes tens of seconds
    tree = _litert_torch_source("core/exportable_module_config.py")
    [task_enum] = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "ExportTask"]
    tasks = {n.value.value for n in task_enum.body if isinstance(n, ast.Assign)}
    assert backend.export_task in tasks
    builder = _litert_torch_source("core/litert_lm_builder.py")
    model_types = {
        p.value
        for case in ast.walk(builder)
        if isinstance(case, ast.match_case)
        for p in ast.walk(case.pattern)
        if isinstance(p, ast.Constant) and isinstance(p.value, str)
    }
    assert backend.model_type in model_types


def test_export_options_are_litert_torch_export_settings(backend):
    tree = _litert_torch_source("core/exportable_module_config.py")
    [config] = [
        n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "ExportableModuleConfig"
    ]
    fields = {
        n.target.id for n in config.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert set(backend.export_options) <= fields
    assert backend.export_options["litert_lm_model_type_override"] == backend.model_type


# -- the tiny Gemma 3n (backend gemma3n-tiny) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_dir(install_plugins, tmp_path_factory):
    """The tiny Gemma 3n built through its backend's ``build_tiny``, as tmz-train builds a local base."""
    site = str(install_plugins(DIST))
    import sys

    sys.path.insert(0, site)
    try:
        tiny = PluginSet().registry.backend("gemma3n-tiny")
        out = tmp_path_factory.mktemp("gemma3n") / "tiny"
        tiny.build_tiny(out, texts=["Where is the pharmacy?", "ⵎⴰⵏⵉ ⵜⵍⵍⴰ ⵜⴼⴰⵔⵎⴰⵙⵉⵜ?"], seed=0)
    finally:
        sys.path.remove(site)
    return out


def test_tiny_has_gemma3n_structure(tiny_dir, registry):
    """A Gemma3nForConditionalGeneration as teams have it: Gemma 3n's text structure and both towers."""
    pytest.importorskip("timm")
    from transformers import AutoModelForCausalLM

    from tmz.core.manifest import load_manifest

    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    tiny = registry.backend("gemma3n-tiny")
    assert (type(model).__name__, model.config.model_type) == (tiny.architecture, "gemma3n")
    cfg = model.config.text_config
    assert cfg.vocab_size == tiny.vocab_size and cfg.vocab_size_per_layer_input < cfg.vocab_size
    text = model.model.language_model
    assert text.embed_tokens_per_layer.weight.shape == (
        cfg.vocab_size_per_layer_input,
        cfg.num_hidden_layers * cfg.hidden_size_per_layer_input,
    )  # per-layer embeddings
    layer = text.layers[0]
    assert layer.altup.correction_coefs.in_features == cfg.altup_num_inputs > 1  # AltUp
    assert layer.laurel.linear_left.out_features == cfg.laurel_rank  # LAuReL
    assert "reuse" in cfg.kv_sharing_modes and "store" in cfg.kv_sharing_modes  # KV sharing
    assert layer.mlp.activation_sparsity > 0 and text.layers[-1].mlp.activation_sparsity == 0  # sparsity
    assert type(model.model.vision_tower).__name__ == "TimmWrapperModel"  # MobileNet-V5, through timm
    assert type(model.model.audio_tower).__name__ == "Gemma3nAudioEncoder"
    # soft-token ids follow the per-layer vocabulary, vision then audio, as in the real checkpoints
    vision, audio = model.config.vision_config, model.config.audio_config
    assert vision.vocab_offset == cfg.vocab_size_per_layer_input
    assert audio.vocab_offset + audio.vocab_size == cfg.vocab_size
    # their output-head rows are zero: the tiny model answers in text
    assert not text.embed_tokens.weight[cfg.vocab_size_per_layer_input :].any()
    # every projection LoRA adapts is in the language model; the KV-sharing layers have no k/v projections
    hit = [n for n, _ in model.named_modules() if re.fullmatch(tiny.lora_targets, n)]
    assert len(hit) == 7 * cfg.num_hidden_layers - 2 * cfg.num_kv_shared_layers
    assert all(n.startswith("model.language_model.layers.") for n in hit)
    manifest = load_manifest(tiny_dir, expect_kind="model")
    assert manifest.backend == "gemma3n-tiny" and manifest.settings.tiny.text_config["laurel_rank"] == 4


def test_export_records_the_parts_it_keeps_and_drops(tiny_dir, registry, monkeypatch):
    """A text export of the ConditionalGeneration checkpoint keeps the language model (embeddings and
    per-layer embeddings included) and drops the vision and audio towers and their embedders."""
    pytest.importorskip("litert_torch")
    from tmz.export.checkpoint import open_checkpoint
    from tmz.export.parts import checkpoint_parts, describe_parts

    monkeypatch.setattr("tmz.export.checkpoint.get_registry", lambda: registry)
    parts = checkpoint_parts(open_checkpoint(tiny_dir), vision=False)
    assert list(parts.kept) == ["model.language_model"]
    assert set(parts.dropped) == {"model.vision_tower", "model.audio_tower", "model.embed_vision",
                                  "model.embed_audio"}  # fmt: skip
    assert all(n > 0 for n in (*parts.kept.values(), *parts.dropped.values()))
    assert "dropped model.audio_tower (" in describe_parts(parts)


def test_tiny_stops_at_end_of_turn_never_at_newline(tiny_dir, registry):
    """LiteRT-LM #950: Gemma 3n's own .litertlm stopped at the newline token. The ids an export writes as
    stop tokens (tmz.export.llm, from generation_config.json) are EOS and the turn terminator only."""
    pytest.importorskip("litert_torch")
    import json

    from transformers import AutoTokenizer

    from tmz.export.checkpoint import Checkpoint
    from tmz.export.llm import llm_metadata

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    config = json.loads((tiny_dir / "config.json").read_text())
    spec = llm_metadata(Checkpoint(tiny_dir, config, None, registry.backend("gemma3n-tiny")), tok)
    assert spec.stop_tokens == ["<eos>", "<end_of_turn>"] and "\n" not in spec.stop_tokens
    assert tok.convert_tokens_to_ids("\n") != tok.unk_token_id  # the newline is a token, and not a stop one
    assert spec.prompt_prefix == "<start_of_turn>user\n" and spec.prompt_suffix.endswith(
        "<start_of_turn>model\n"
    )


def test_turn_terminator_is_in_the_trained_completion(tiny_dir):
    """TRL's prompt/completion loss covers what the full conversation adds to the prompt: the answer and its
    ``<end_of_turn>`` (axolotl #3754: an untrained terminator never stops)."""
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    prompt = [{"role": "user", "content": "Help!"}]
    full = [*prompt, {"role": "assistant", "content": "ⴰⵡⵙ!"}]
    p_ids = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)[
        "input_ids"
    ]
    f_ids = tok.apply_chat_template(full, tokenize=True, return_dict=True)["input_ids"]
    assert f_ids[: len(p_ids)] == p_ids
    assert tok.convert_tokens_to_ids("<end_of_turn>") in f_ids[len(p_ids) :]


def test_export_refuses_text_only_gemma3n(backend, tmp_path):
    """litert-torch 0.10 converts a gemma3n_text checkpoint on its generic path, which drops
    embed_tokens_per_layer (evidence in the README): refused, naming where."""
    from tmz.core.errors import UnsupportedModelError

    config = {"model_type": "gemma3n_text", "architectures": ["Gemma3nForCausalLM"]}
    with pytest.raises(
        UnsupportedModelError, match=r"gemma3n_text.*exportables\.py:45.*embed_tokens_per_layer"
    ):
        backend.refuse_export(tmp_path, config)
    backend.refuse_export(tmp_path, {"model_type": "gemma3"})  # other families pass
    if importlib.util.find_spec("timm") is not None:  # the full checkpoint passes where it can be loaded
        backend.refuse_export(tmp_path, {"model_type": "gemma3n", "architectures": [backend.architecture]})


def test_full_gemma3n_checkpoint_is_refused_without_timm(backend, tmp_path, monkeypatch):
    from tmz.core.errors import UnsupportedModelError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "timm" else real(name, *a)
    )
    with pytest.raises(UnsupportedModelError, match="timm"):
        backend.refuse_export(tmp_path, {"model_type": "gemma3n", "architectures": [backend.architecture]})


# -- conversion repairs (backend prepare_export) and QLoRA's skipped modules -----------------------------------


def test_prepare_export_fills_the_sparsity_cutoffs_and_soft_caps_the_head(install_plugins, monkeypatch):
    """The two repairs on stand-ins of what litert-torch 0.10 loads: an MLP whose ``_std_multiplier`` buffer is
    uninitialised memory (1.9e31 measured) and an output head without Gemma 3n's final soft-cap."""
    torch = pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    from types import SimpleNamespace

    from tmz_backend_gemma3n.conversion import SoftCappedHead, prepare_export

    class MLP(torch.nn.Module):
        def __init__(self, sparsity: float) -> None:
            super().__init__()
            self.activation_sparsity = sparsity
            if sparsity:
                self.register_buffer("_std_multiplier", torch.tensor(1.8649e31), persistent=False)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList([MLP(0.95), MLP(0.0)])
            self.lm_head = torch.nn.Linear(4, 3, bias=False)
            text = SimpleNamespace(final_logit_softcapping=30.0)
            self.config = SimpleNamespace(get_text_config=lambda: text)

    model = Model()
    head = model.lm_head
    hidden = torch.randn(2, 4) * 100
    prepare_export(model)
    assert float(model.layers[0]._std_multiplier) == pytest.approx(1.6448536, abs=1e-6)  # ndtri(0.95)
    assert "_std_multiplier" in dict(model.layers[0].named_buffers())  # still a buffer, not a parameter
    assert not hasattr(model.layers[1], "_std_multiplier")
    assert isinstance(model.lm_head, SoftCappedHead) and model.lm_head.weight is head.weight  # tie kept
    torch.testing.assert_close(model.lm_head(hidden), torch.tanh(head(hidden) / 30.0) * 30.0)
    assert model.lm_head(hidden).abs().max() < 30.0
    prepare_export(model)  # a second call does not cap twice
    assert model.lm_head.head is head


def test_qlora_keeps_altup_and_the_head_out_of_4bit(tiny_dir, registry):
    """bitsandbytes packs every nn.Linear; Gemma 3n clamps AltUp's prediction coefficients in place while
    training (modeling_gemma3n.py:1027), which fails on a packed weight: the backend keeps AltUp (and the head,
    transformers' default that a skip list replaces) unquantized, and the projections LoRA adapts in 4 bits."""
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb
    import torch

    from tmz.train.model import Hardware, load_model

    tiny = registry.backend("gemma3n-tiny")
    assert tiny.quantization_skip_modules == registry.backend(NAME).quantization_skip_modules
    hw = Hardware("cpu", "nf4", "fp32", "adamw_torch", compute_dtype="float32")
    model = load_model(str(tiny_dir), tiny, hw)
    kinds = {n: type(m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    altup = [n for n in kinds if ".altup." in n]
    assert altup and all(kinds[n] is torch.nn.Linear for n in altup)
    assert kinds["lm_head"] is torch.nn.Linear
    adapted = [n for n in kinds if re.fullmatch(tiny.lora_targets, n)]
    assert adapted and all(issubclass(kinds[n], bnb.nn.Linear4bit) for n in adapted)


@pytest.mark.slow
def test_litert_torch_modules_answer_as_transformers_once_prepared(tiny_dir, install_plugins, monkeypatch):
    """litert-torch's own Gemma 3n prefill/decode modules (what it traces), run in PyTorch on the model it loads,
    give transformers' log-probabilities once ``prepare_export`` ran (without it: |delta log p| up to 2.7 from
    the first answer token, README). A litert-torch that fills the cutoffs or caps the logits itself would show
    here (a second soft-cap moves log p by ~5e-3)."""
    pytest.importorskip("litert_torch")
    import torch
    from litert_torch.generative.export_hf.core import export_lib, exportable_module
    from litert_torch.generative.export_hf.model_ext import exportables
    from litert_torch.generative.export_hf.model_ext import patches as model_ext_patches
    from transformers import AutoModelForCausalLM

    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    from tmz_backend_gemma3n.conversion import prepare_export

    prefill_len, cache_len = 8, 32
    config = exportable_module.ExportableModuleConfig(
        model=str(tiny_dir), task="text_generation", prefill_lengths=[prefill_len], cache_length=cache_len,
        externalize_embedder=True, quantization_recipe=None,
    )  # fmt: skip
    source = export_lib.load_model(str(tiny_dir), config, task="text_generation")
    config = export_lib.update_export_config(config, source)
    model = source.model
    prepare_export(model)
    reference = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    text = reference.model.language_model
    ids = [2, 40, 41, 7, 300, 8, 9, 10, 250]  # prefill_len + 1 ids of the per-layer vocabulary

    def inputs(tokens, start):
        t = torch.tensor([tokens])
        pos = torch.arange(start, start + len(tokens))
        mask = torch.where(torch.arange(cache_len)[None, :] <= pos[:, None], 0.0, -1e38)[None, None]
        return dict(embeddings=text.embed_tokens(t), per_layer_embeddings=text.get_per_layer_inputs(t),
                    input_pos=pos, mask=mask)  # fmt: skip

    prefill_cls, decode_cls = exportables.get_prefill_decode_exportables(source.model_config, config)
    with torch.no_grad(), model_ext_patches.patch_model(model, source.model_config.model_type, config):
        model.set_attn_implementation("lrt_transposed_attention")
        prefill, decode = prefill_cls(model, config, source), decode_cls(model, config, source)
        kv = prefill.get_sample_inputs(source.text_model_config)[f"prefill_{prefill_len}"][0]["kv_cache"]
        kv = prefill(kv_cache=kv, **inputs(ids[:prefill_len], 0))["kv_cache"]
        logits = decode(kv_cache=kv, **inputs(ids[prefill_len:], prefill_len))["logits"][0, -1]
        expected = reference(input_ids=torch.tensor([ids])).logits[0, -1]
    delta = (torch.log_softmax(logits, -1) - torch.log_softmax(expected, -1)).abs().max()
    assert delta < 1e-4, delta


@pytest.mark.slow
def test_qlora_trains_and_merges(tiny_dir, registry, plugin_tmz, tmp_path):
    """QLoRA (NF4 base) on the tiny Gemma 3n trains a few steps and merges into a checkpoint."""
    pytest.importorskip("bitsandbytes")
    from tmz.core.manifest import load_manifest
    from tmz.train.memorise import TEXT_PAIRS, write_pairs

    write_pairs(tmp_path / "data", list(TEXT_PAIRS))
    plugin_tmz(DIST, "train", "run", str(tmp_path / "data"), "--backend", "gemma3n-tiny", "--base", str(tiny_dir),
               "--out", str(tmp_path / "adapter"), "--quantization", "nf4", "--set", "training.max_steps=4",
               "--set", "training.packing=false", "--set", "eval.after_training=false",
               "--set", "training.eval_steps=10000", timeout=1200)  # fmt: skip
    plugin_tmz(
        DIST, "train", "merge", str(tmp_path / "adapter"), "--out", str(tmp_path / "model"), timeout=1200
    )
    adapter = load_manifest(tmp_path / "adapter", expect_kind="adapter")
    assert adapter.settings.hardware.quantization == "nf4" and adapter.results.global_step == 4
    assert (tmp_path / "model" / "config.json").is_file()


@pytest.mark.slow
def test_the_example_pipeline_ends_with_parity_passed_and_a_translation(plugin_tmz, example_config, tmp_path):
    """`tmz pipeline run examples/pipeline-tiny-gemma3n.toml` with the plugin installed from its wheel: with the
    backend's conversion repairs, the fp32 export's parity passes and the bundle translates (one torch thread,
    as the Gemma 4 plugin's test explains)."""
    from tmz.core.manifest import ExportManifest, load_manifest

    run = plugin_tmz(DIST, "pipeline", "run", str(example_config("pipeline-tiny-gemma3n.toml")))
    parity = load_manifest(
        tmp_path / "work" / "tiny-gemma3n" / "export", expect_kind=ExportManifest
    ).results.parity
    assert parity is not None and parity.passed and parity.prompts >= 2, parity
    assert "translations through the bundles (LiteRT-LM)" in run.stdout and ".litertlm" in run.stdout
