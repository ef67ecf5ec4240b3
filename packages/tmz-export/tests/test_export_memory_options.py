"""litert-torch's memory options as ExportOptions (model_dtype, converter): what reaches litert-torch, what is
refused before anything is written, and that v1 and the default lightweight converter agree."""

from pathlib import Path

import pytest

from tmz.core.manifest import load_manifest
from tmz.export import export
from tmz.export.errors import ExportError
from tmz.export.options import DEFAULTS, ExportOptions


def refuse(model: Path, out: Path, match: str, **options) -> None:
    """export() refuses ``options`` with ExportError matching ``match``, before writing anything."""
    with pytest.raises(ExportError, match=match):
        export(model, out, prefill_lengths=[32], kv_cache=128, parity=False, **options)
    assert not out.exists()


def test_defaults_are_the_lightweight_float32_conversion():
    assert (DEFAULTS.model_dtype, DEFAULTS.converter) == ("float32", "v1-lightweight")
    with pytest.raises(ValueError, match="converter"):
        ExportOptions(converter="v3")
    with pytest.raises(ValueError, match="model_dtype"):
        ExportOptions(model_dtype="float16")


def test_each_converter_sets_its_litert_torch_flags(tmp_path):
    from tmz.core.plugins import get_registry
    from tmz.export.convert import CONVERTER_SETTINGS, module_config

    backend = get_registry().backend("tiny")
    flags = ("experimental_lightweight_conversion", "use_v2", "delete_in_memory_params")
    seen = {}
    for name, settings in CONVERTER_SETTINGS.items():
        config = module_config(backend, model="m", output_dir=str(tmp_path), work_dir=str(tmp_path),
                               model_dtype="bfloat16", **settings)  # fmt: skip
        seen[name] = tuple(getattr(config, f) for f in flags)
        assert str(config.get_torch_dtype()) == "torch.bfloat16"
    assert seen == {
        "v1": (False, False, False),
        "v1-lightweight": (True, False, False),
        "v2": (False, True, False),
        "v2-streaming": (False, True, True),
    }


def test_unknown_names_are_refused(tiny_text_base, tmp_path):
    refuse(
        tiny_text_base,
        tmp_path / "a",
        "unknown converter 'v3'; use one of v1, v1-lightweight",
        converter="v3",
    )
    refuse(tiny_text_base, tmp_path / "b", "unknown model_dtype 'fp8'", model_dtype="fp8")


def test_bfloat16_needs_converter_v2(tiny_text_base, tmp_path):
    refuse(
        tiny_text_base, tmp_path / "out", "model_dtype 'bfloat16' needs converter v2", model_dtype="bfloat16"
    )


def test_converter_v2_is_refused_for_image_models(tiny_vision_base, tmp_path):
    refuse(tiny_vision_base, tmp_path / "out", "converts text_generation models only.*image_text_to_text",
           converter="v2-streaming")  # fmt: skip


@pytest.mark.slow
def test_converter_v2_without_its_tensorflow_is_refused(tiny_text_base, tmp_path):
    from litert_torch._convert import converter_v2

    if converter_v2.is_supported():
        pytest.skip("this TensorFlow has Converter V2's convert_mlir_bytecode")
    refuse(
        tiny_text_base, tmp_path / "out", "needs a TensorFlow with .*convert_mlir_bytecode", converter="v2"
    )


@pytest.mark.slow
def test_converter_v1_keeps_exact_fp32_parity(tiny_text_model, memorised_text_pairs, tmp_path):
    out = tmp_path / "v1"
    manifest = export(tiny_text_model, out, quantization="fp32", prefill_lengths=[32], kv_cache=128,
                      prompts=memorised_text_pairs, converter="v1")  # fmt: skip
    report = manifest.results.parity
    assert report.passed and report.exact == report.prompts
    recorded = load_manifest(out, expect_kind="export").settings
    assert (recorded.converter, recorded.model_dtype) == ("v1", "float32")


@pytest.mark.slow
def test_v1_converts_the_vision_model_to_the_same_files_as_the_default(
    tiny_vision_export, tiny_vision_model, memorised_image_pairs, tmp_path
):
    """The default (v1-lightweight) was adopted after it gave v1's files, byte for byte, on the image + text
    model too: the prefill/decode model, the embedder, the vision encoder and its adapter."""
    out = tmp_path / "v1"
    export(tiny_vision_model, out, quantization="int8", prefill_lengths=[32], kv_cache=128,
           prompts=memorised_image_pairs, converter="v1")  # fmt: skip
    assert load_manifest(tiny_vision_export, expect_kind="export").settings.converter == "v1-lightweight"
    files = sorted(p.name for p in out.glob("*.tflite"))
    assert len(files) == 4 and files == sorted(p.name for p in tiny_vision_export.glob("*.tflite"))
    for name in files:
        assert (out / name).read_bytes() == (tiny_vision_export / name).read_bytes(), name
