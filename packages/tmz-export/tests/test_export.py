"""Tiny memorised checkpoints (text, and image + text) export at int8 and fp32 with 100% parity in LiteRT-LM."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tmz.core.cli import cli
from tmz.core.manifest import MANIFEST_NAME, list_files, load_manifest, write_manifest
from tmz.export import ExportError, ParityError, export, verify

pytestmark = pytest.mark.slow
EXPORT = {"prefill_lengths": [32], "kv_cache": 128, "threshold": 1.0}


@pytest.fixture(scope="module")
def text_fp32_export(tiny_text_model, memorised_text_pairs, tmp_path_factory) -> Path:
    """The default prefill ladder (32, 64, 128 within this 128-token KV cache), unlike the other exports."""
    out = tmp_path_factory.mktemp("export") / "text-fp32"
    export(
        tiny_text_model, out, quantization="fp32", prompts=memorised_text_pairs, kv_cache=128, threshold=1.0
    )
    return out


@pytest.fixture(scope="module")
def vision_fp32_export(tiny_vision_model, memorised_image_pairs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "vision-fp32"
    export(tiny_vision_model, out, quantization="fp32", prompts=memorised_image_pairs, **EXPORT)
    return out


CASES = [
    ("tiny_text_export", "memorised_text_pairs", "int8"),
    ("text_fp32_export", "memorised_text_pairs", "fp32"),
    ("tiny_vision_export", "memorised_image_pairs", "int8"),
    ("vision_fp32_export", "memorised_image_pairs", "fp32"),
]


@pytest.mark.parametrize(("export_fixture", "pairs_fixture", "quantization"), CASES)
def test_memorised_prompts_have_full_parity(request, export_fixture, pairs_fixture, quantization):
    out = request.getfixturevalue(export_fixture)
    pairs = request.getfixturevalue(pairs_fixture)
    manifest = load_manifest(out, expect_kind="export")  # every listed file present, hashes verified
    parity = manifest.results["parity"]
    assert parity["passed"] and parity["match_rate"] == 1.0 and parity["prompts"] == len(pairs)
    assert parity["first_divergence"] is None
    for case, pair in zip(parity["cases"], pairs, strict=True):
        # Both engines answer with the memorised text, token for token, from prompts of equal length.
        assert case["pytorch"]["text"] == case["litert"]["text"] == pair.answer
        assert case["pytorch"]["ids"] == case["litert"]["ids"] and case["pytorch"]["ids"]
        assert case["prompt_tokens"]["pytorch"] == case["prompt_tokens"]["litert"]
        assert (
            case["generated_tokens"]["pytorch"]
            == case["generated_tokens"]["litert"]
            == len(case["pytorch"]["raw_ids"]) + 1
        )
    settings = manifest.settings
    assert settings["quantization"] == quantization and settings["kv_cache_max_len"] == 128
    assert {f.path for f in manifest.files} == set(settings["components"].values())
    assert manifest.parent is not None and manifest.parent.kind == "model"
    assert manifest.results["export"]["seconds"] > 0 and manifest.results["export"]["peak_rss_mb"] > 0
    assert (
        settings["llm"]["stop_tokens"] == ["<eos>", "<end_of_turn>"]
        and settings["llm"]["start_token"] == "<bos>"
    )


@pytest.mark.parametrize("export_fixture", ["tiny_vision_export", "vision_fp32_export"])
def test_vision_export_normalises_as_trained(request, tiny_vision_model, export_fixture):
    manifest = load_manifest(request.getfixturevalue(export_fixture))
    components = manifest.settings["components"]
    assert {"prefill_decode", "embedder", "vision_encoder", "vision_adapter", "tokenizer", "litertlm"} <= set(
        components
    )
    trained = load_manifest(tiny_vision_model).settings["image_normalisation"]
    assert manifest.settings["image_normalisation"] == trained and trained["do_normalize"]
    for case in manifest.results["parity"]["cases"]:
        assert case["kind"] == "image"
        pixels = np.asarray(Image.open(case["image"]).convert("RGB"))
        assert pixels.mean() < 250  # not plain white: white hides the pixel-scaling trap


@pytest.mark.parametrize("export_fixture", ["text_fp32_export", "vision_fp32_export"])
def test_export_directory_holds_exactly_its_components(request, export_fixture):
    """Nothing stray (e.g. LiteRT-LM's XNNPACK cache from the parity run) lands in the artifact."""
    out = request.getfixturevalue(export_fixture)
    manifest = load_manifest(out)
    assert {p.name for p in out.iterdir()} == {f.path for f in manifest.files} | {MANIFEST_NAME}


def test_default_prefill_ladder(text_fp32_export, tiny_text_export):
    from ai_edge_litert.interpreter import Interpreter

    def signatures(out: Path) -> tuple[list[int], set[str]]:
        settings = load_manifest(out).settings
        model = Interpreter(model_path=str(out / settings["components"]["prefill_decode"]))
        return settings["prefill_lengths"], set(model.get_signature_list())

    assert signatures(text_fp32_export) == (
        [32, 64, 128],
        {"prefill_32", "prefill_64", "prefill_128", "decode"},
    )
    assert signatures(tiny_text_export) == (
        [32],
        {"prefill_32", "decode"},
    )  # explicit lengths replace the ladder


def test_default_prefill_lengths_fit_the_kv_cache():
    from tmz.export.signatures import default_prefill_lengths

    assert default_prefill_lengths(1024) == [32, 64, 128, 256, 512]
    assert default_prefill_lengths(100) == [32, 64]
    assert default_prefill_lengths(16) == [16]


def test_quantization_shrinks_the_model(tiny_text_export, text_fp32_export):
    sizes = [
        (out / load_manifest(out).settings["components"]["prefill_decode"]).stat().st_size
        for out in (tiny_text_export, text_fp32_export)
    ]
    assert sizes[0] < sizes[1]


def test_cli_verify_passes_and_records(tiny_text_export, memorised_text_pairs, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(tiny_text_export, out)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(row(p)) + "\n" for p in memorised_text_pairs), encoding="utf-8")
    before = load_manifest(out).results["parity"]["seconds"]
    result = CliRunner().invoke(
        cli, ["export", "verify", str(out), "--prompts", str(prompts), "--threshold", "1"]
    )
    assert result.exit_code == 0, result.output
    assert f"parity {len(memorised_text_pairs)}/{len(memorised_text_pairs)} (100%)" in result.output
    after = load_manifest(out).results["parity"]
    assert after["prompt_source"] == "given" and after["seconds"] != before


def test_verify_fails_below_threshold(tiny_text_export, tiny_vision_export, memorised_text_pairs, tmp_path):
    """An export whose model is not the checkpoint's (the vision model's .litertlm in the text export): the
    parity check catches it, names the first divergence, and the CLI exits 1."""
    out = tmp_path / "swapped"
    shutil.copytree(tiny_text_export, out)
    litertlm = load_manifest(out).settings["components"]["litertlm"]
    shutil.copyfile(tiny_vision_export / load_manifest(tiny_vision_export).settings["components"]["litertlm"],
                    out / litertlm)  # fmt: skip
    manifest = load_manifest(out, verify=False)
    write_manifest(manifest.model_copy(update={"files": list_files(out)}), out)
    with pytest.raises(ParityError, match="first divergence"):
        verify(out, prompts=memorised_text_pairs, threshold=1.0)
    report = load_manifest(out).results["parity"]
    assert not report["passed"] and report["match_rate"] < 1.0
    d = report["first_divergence"]
    assert d["prompt"] and d["position"] is not None and d["pytorch"] != d["litert"]
    result = CliRunner().invoke(cli, ["export", "verify", str(out), "--no-record", "--threshold", "1"])
    assert result.exit_code == 1 and "below the threshold" in result.output


def test_verify_refuses_another_checkpoint(tiny_text_export, tiny_text_base):
    with pytest.raises(ExportError, match="not the one"):
        verify(tiny_text_export, model=tiny_text_base)


def row(pair) -> dict:
    """A memorised pair as a dataset row (docs/contracts.md, dataset)."""
    src, tgt = pair.source, pair.target
    return {"source_language": src.language, "source_script": src.script, "target_language": tgt.language,
            "target_script": tgt.script, "dialect": tgt.dialect or src.dialect, "source_text": str(pair.input)}  # fmt: skip


def test_manifest_name_is_not_a_component(tiny_text_export):
    assert (tiny_text_export / MANIFEST_NAME).is_file()
    assert MANIFEST_NAME not in load_manifest(tiny_text_export).settings["components"].values()
