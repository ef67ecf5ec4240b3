"""The Gemma 4 backend installed from its wheel: its facts checked against the installed libraries, its tiny
model built offline, and the traps of the family (LoRA targets, KV sharing without a cache, the terminator)."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from tmz.core.plugins import PluginSet
from tmz.core.prompt import Side, chat_prompt, messages

DIST = "tmz-backend-gemma4"
NAME = "gemma4-e2b-text"


@pytest.fixture
def registry(install_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(install_plugins(DIST)))
    ps = PluginSet()
    assert not [f for f in ps.failures if f.distribution == DIST]
    return ps.registry


@pytest.fixture
def backend(registry):
    return registry.backend(NAME)


def test_registered_with_its_own_chat_format(registry, backend):
    assert registry.sources[("backend", NAME)] == DIST
    assert backend.model_id == "google/gemma-4-E2B-it" and not backend.vision and not backend.local
    assert registry.backend_for_architecture("Gemma4ForConditionalGeneration", 262144) == backend
    chat = backend.chat_format
    assert (chat.name, chat.turn_start, chat.turn_end) == ("gemma4", "<|turn>", "<turn|>")
    assert registry.backend("gemma3-1b-text").chat_format.turn_end == "<end_of_turn>"  # built-ins untouched
    src, tgt = Side("en", "Latn"), Side("zgh", "Tfng")
    prompt = chat_prompt(chat, registry, src, tgt, "Hello")
    assert prompt.startswith("<|turn>user\nTranslate from English") and prompt.endswith(
        "Hello<turn|>\n<|turn>model\n"
    )
    assert "<start_of_turn>" not in prompt and "<end_of_turn>" not in chat.template


def test_facts_match_transformers(backend):
    pytest.importorskip("transformers")
    import transformers
    from transformers.cli.serving import utils as serving
    from transformers.models.auto import modeling_auto
    from transformers.models.gemma4.configuration_gemma4 import Gemma4TextConfig

    assert modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["gemma4"] == backend.architecture
    assert hasattr(transformers, backend.architecture) and hasattr(transformers, backend.auto_class)
    assert Gemma4TextConfig().vocab_size == backend.vocab_size
    [parser] = [v for k, v in vars(serving).items() if isinstance(v, dict) and ("gemma4",) in v]
    gemma4 = parser[("gemma4",)]
    assert backend.chat_format.model_prefix in gemma4["start_anchor"]
    assert set(backend.chat_format.stop_tokens) <= set(gemma4["fields"]["content"]["close"])


def _litert_torch_source(relative: str) -> str:
    spec = importlib.util.find_spec("litert_torch")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("litert-torch is not installed")
    return (
        Path(next(iter(spec.submodule_search_locations))) / "generative" / "export_hf" / relative
    ).read_text()


def test_litert_torch_takes_its_gemma4_path_for_this_model_type(backend):
    exportables = _litert_torch_source("model_ext/exportables.py")
    assert f"model_config.model_type == '{backend.model_type}'" in exportables
    assert (
        "External embedder is required for Gemma4." in exportables
        and backend.export_options["externalize_embedder"]
    )
    builder = ast.parse(_litert_torch_source("core/litert_lm_builder.py"))
    model_types = {p.value for case in ast.walk(builder) if isinstance(case, ast.match_case)
                   for p in ast.walk(case.pattern) if isinstance(p, ast.Constant) and isinstance(p.value, str)}  # fmt: skip
    assert backend.model_type in model_types


@pytest.fixture
def tiny(registry, tmp_path):
    pytest.importorskip("tmz.train")
    backend = registry.backend("tiny-gemma4")
    manifest = backend.build_tiny(tmp_path / "tiny-gemma4", texts=["Hello", "ⴰⵣⵓⵍ"], seed=0)
    assert manifest.backend == "tiny-gemma4" and manifest.prompt_format == "tmz-v1"
    return tmp_path / "tiny-gemma4", backend


def test_tiny_is_gemma4_e2b_like_with_its_chat_template(tiny):
    import transformers

    path, backend = tiny
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    assert type(model).__name__ == backend.architecture and model.config.model_type == "gemma4"
    text = model.config.get_text_config()
    assert text.hidden_size_per_layer_input and text.num_kv_shared_layers == 2
    tok = transformers.AutoTokenizer.from_pretrained(path)
    assert len(tok) == backend.vocab_size
    for piece in backend.chat_format.stop_tokens:  # single pieces, and generation stops at them
        [i] = tok(piece, add_special_tokens=False)["input_ids"]
        assert i in model.generation_config.eos_token_id
    reg = PluginSet().registry
    conv = messages(reg, Side("en", "Latn"), Side("fr", "Latn"), "Hi", "Salut")
    prompt = tok.apply_chat_template(conv[:1], tokenize=False, add_generation_prompt=True)
    assert prompt == "<bos>" + chat_prompt(
        backend.chat_format, reg, Side("en", "Latn"), Side("fr", "Latn"), "Hi"
    )
    # the completion TRL's completion-only loss trains ends with Gemma 4's terminator
    full = tok.apply_chat_template(conv, tokenize=False)
    assert full[len(prompt) :] == "Salut<turn|>\n"


def test_chat_template_renders_as_the_published_gemma4_one(tiny):
    """TRL ships google/gemma-4-E2B-it's own chat templates (chat_templates/README.md: gemma4_v2.jinja is the
    release revision 4742fe8, gemma4_v5.jinja the current 8995379); tmz's conversations render identically."""
    pytest.importorskip("trl")
    import transformers
    from trl import chat_template_utils as published

    path, backend = tiny
    tok = transformers.AutoTokenizer.from_pretrained(path)
    reg = PluginSet().registry
    conv = messages(reg, Side("en", "Latn"), Side("zgh", "Tfng"), "Where is the hospital?", "ⴰⵙⴳⵏⴰⴼ")
    for template in (published.gemma4_v2_chat_template, published.gemma4_v5_chat_template):
        for turns, generation in ((conv[:1], True), (conv, False)):
            ours = tok.apply_chat_template(turns, tokenize=False, add_generation_prompt=generation)
            theirs = tok.apply_chat_template(
                turns, tokenize=False, add_generation_prompt=generation, chat_template=template
            )
            assert ours == theirs
    assert published.gemma4_template["start_anchor_pattern"].startswith("(?:<\\|turn>model\\n")


def test_lora_attaches_to_the_language_model_projections_only(tiny):
    import peft
    import torch
    import transformers

    path, backend = tiny
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    linear = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    hit = {n for n in linear if re.fullmatch(backend.lora_targets, n)}
    shared = {2, 3}  # KV-shared layers have no k/v projections
    expected = {f"model.language_model.layers.{i}.{p}" for i in range(4)
                for p in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")
                if not (i in shared and p in ("self_attn.k_proj", "self_attn.v_proj"))}  # fmt: skip
    assert hit == expected
    assert any("per_layer" in n for n in linear - hit)  # per-layer-input gates stay frozen
    from tmz.train import TrainConfig
    from tmz.train.sft import lora_config

    lora = peft.get_peft_model(model, lora_config(TrainConfig(), backend))  # what tmz train attaches
    adapted = {n.removeprefix("base_model.model.") for n, m in lora.named_modules() if hasattr(m, "lora_A")}
    assert adapted == expected


def test_kv_sharing_without_a_cache_trains_like_with_one(tiny):
    """TRL trains with ``use_cache=False``; Gemma 4's shared layers then read the earlier layers' keys and values
    from the forward pass itself: the logits must equal the cached ones and the loss must reach the shared layers."""
    import torch
    import transformers

    path, _ = tiny
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    ids = torch.tensor([[2, 10, 11, 12, 13, 14]])
    with torch.no_grad():
        cached, uncached = (
            model(input_ids=ids, use_cache=True).logits,
            model(input_ids=ids, use_cache=False).logits,
        )
    assert torch.allclose(cached, uncached, atol=1e-5)
    model.train()
    loss = model(input_ids=ids, labels=ids, use_cache=False).loss
    loss.backward()
    grad = model.model.language_model.layers[3].self_attn.q_proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0


@pytest.mark.slow
def test_qlora_trains_and_merges_as_it_answered(tiny, plugin_tmz, tmp_path):
    """QLoRA (NF4 base, bitsandbytes on CPU) on the tiny Gemma 4 trains and merges into the dequantized NF4
    weights, which compute what was trained: the merge's own fidelity check, |delta log p| measured at 0.063 by
    hand (bound 0.5)."""
    pytest.importorskip("bitsandbytes")
    from tmz.core.manifest import load_manifest
    from tmz.train.memorise import TEXT_PAIRS, write_pairs

    path, _ = tiny
    write_pairs(tmp_path / "data", list(TEXT_PAIRS))
    plugin_tmz(DIST, "train", "run", str(tmp_path / "data"), "--backend", "tiny-gemma4", "--base", str(path),
               "--out", str(tmp_path / "adapter"), "--quantization", "nf4", "--set", "training.max_steps=4",
               "--set", "training.packing=false", "--set", "eval.after_training=false",
               "--set", "training.eval_steps=10000", timeout=1200)  # fmt: skip
    plugin_tmz(
        DIST, "train", "merge", str(tmp_path / "adapter"), "--out", str(tmp_path / "model"), timeout=1200
    )
    adapter = load_manifest(tmp_path / "adapter", expect_kind="adapter")
    assert adapter.settings.hardware.quantization == "nf4" and adapter.results.global_step == 4
    merged = load_manifest(tmp_path / "model", expect_kind="model")
    fidelity = merged.results.fidelity
    assert fidelity is not None and fidelity.prompts > 0, merged.results
    assert (fidelity.reference, fidelity.weights) == ("nf4 base + adapter", "dequantized")
    assert fidelity.max_abs_delta < 0.5, fidelity


@pytest.mark.slow
def test_the_example_pipeline_ends_with_parity_passed_and_a_translation(plugin_tmz, example_config, tmp_path):
    """`tmz pipeline run examples/pipeline-tiny-gemma4.toml` with the plugin installed from its wheel: the model
    trains until learned, the export's parity passes (typed results of its manifest) and the bundle translates.
    The example is copied beside links to the corpus and configs it names, so its work directory is tmp_path's.
    One torch thread: on a shared CPU, two threads that wait on each other were measured 3.5x slower per step."""
    from tmz.core.manifest import load_manifest

    run = plugin_tmz(DIST, "pipeline", "run", str(example_config("pipeline-tiny-gemma4.toml")))
    work = tmp_path / "work" / "tiny-gemma4"
    parity = load_manifest(work / "export", expect_kind="export").results.parity
    assert parity is not None and parity.passed and parity.prompts >= 2, parity
    assert all(c.pytorch_text.strip() for c in parity.cases)  # real answers, not whitespace
    assert "translations through the bundles (LiteRT-LM)" in run.stdout and ".litertlm" in run.stdout
    assert "│ = " in run.stdout  # a learned phrase translated as its reference
    print(run.stdout)
