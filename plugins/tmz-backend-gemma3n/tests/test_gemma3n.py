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
