"""Tiny memorised checkpoints (text, and image + text) export at int8 and fp32 and pass parity in LiteRT-LM."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tmz.core.cli import cli
from tmz.core.manifest import MANIFEST_NAME, list_files, load_manifest, write_manifest
from tmz.core.parity import ParityReport
from tmz.core.plugins import get_registry
from tmz.export import ExportError, ParityError, export, verify
from tmz.export.prompts import coerce

pytestmark = pytest.mark.slow
EXPORT = {"prefill_lengths": [32], "kv_cache": 128}


@pytest.fixture(scope="module")
def text_fp32_export(tiny_text_model, memorised_text_pairs, tmp_path_factory) -> Path:
    """The default prefill ladder (32, 64, 128 within this 128-token KV cache), unlike the other exports."""
    out = tmp_path_factory.mktemp("export") / "text-fp32"
    export(tiny_text_model, out, quantization="fp32", prompts=memorised_text_pairs, kv_cache=128)
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
    parity = manifest.results.parity
    assert isinstance(parity, ParityReport)
    assert parity.passed and parity.exact == parity.prompts == len(pairs) and parity.first_failure is None
    for case, pair in zip(parity.cases, pairs, strict=True):
        # Both engines answer with the memorised text, token for token, from prompts of equal length.
        assert case.verdict == "match" and case.pytorch_text == case.litert_text == pair.answer
        assert case.pytorch_ids == case.litert_ids and case.pytorch_ids
        assert case.prompt_tokens["pytorch"] == case.prompt_tokens["litert"]
        assert (
            case.generated_tokens["pytorch"] == case.generated_tokens["litert"] == len(case.pytorch_ids) + 1
        )
        if case.kind == "text":  # LiteRT-LM scored every token of PyTorch's answer
            assert case.scored_ids == case.pytorch_ids and len(case.litert_logprobs) == len(case.pytorch_ids)
            assert case.max_abs_delta <= parity.logprob_tolerance
    if quantization == "fp32" and pairs_fixture == "memorised_text_pairs":
        # fp32 numerics on both sides: LiteRT-LM's scores are PyTorch's own log-probabilities (this also proves the
        # scoring call is aligned: a token lost from the context costs whole nats)
        assert parity.max_abs_delta < 1e-3
    settings = manifest.settings
    assert settings.quantization == quantization and settings.kv_cache_max_len == 128
    assert {f.path for f in manifest.files} == set(settings.components.present().values())
    assert manifest.parent is not None and manifest.parent.kind == "model"
    assert manifest.results.export.seconds > 0 and manifest.results.export.peak_rss_mb > 0
    assert settings.llm.stop_tokens == ["<eos>", "<end_of_turn>"] and settings.llm.start_token == "<bos>"


@pytest.fixture(scope="module")
def unlearned_prompts(tmp_path_factory) -> list:
    """tmz-export's built-in prompts: sentences the memorised model never saw (near-ties abound)."""
    from tmz.core.plugins import get_registry
    from tmz.export.prompts import builtin

    return builtin(get_registry(), False, tmp_path_factory.mktemp("prompts"), (0, 0))


@pytest.mark.parametrize("quantization", ["fp32", "fp16", "int8", "int4"])
def test_correct_exports_pass_on_learned_and_unlearned_prompts(
    request, quantization, tiny_text_model, memorised_text_pairs, unlearned_prompts, tmp_path_factory
):
    """Every quantization, LiteRT-LM's default activations: a correct export passes against its own checkpoint
    on the prompts it learned and on prompts it never saw (where answers may part at near-ties)."""
    given = {"fp32": "tiny_text_export_fp32", "int8": "tiny_text_export"}.get(quantization)
    if given:
        out = request.getfixturevalue(given)
    else:
        out = tmp_path_factory.mktemp("export") / f"text-{quantization}"
        export(tiny_text_model, out, quantization=quantization, prompts=memorised_text_pairs, **EXPORT)
    prompts = [*coerce(get_registry(), memorised_text_pairs), *unlearned_prompts]
    report = verify(out, prompts=prompts, parity_prompts=len(prompts))
    assert report.passed and report.prompts == len(prompts) > len(memorised_text_pairs)
    assert all(c.verdict in ("match", "tie") for c in report.cases)
    assert report.max_abs_delta <= report.logprob_tolerance and report.tolerance_source.endswith(
        "(docs/parity.md)"
    )
    learned = report.cases[: len(memorised_text_pairs)]
    assert all(
        c.verdict == "match" and c.litert_text == p.answer
        for c, p in zip(learned, memorised_text_pairs, strict=True)
    )


@pytest.mark.parametrize("export_fixture", ["tiny_vision_export", "vision_fp32_export"])
def test_vision_export_normalises_as_trained(request, tiny_vision_model, export_fixture):
    """The exported encoder, fed the parity images as LiteRT-LM feeds them (RGB scaled to [0, 1]), sees what the
    PyTorch vision tower saw in training (the processor's normalised pixels), not the raw [0, 1] pixels."""
    import torch
    from ai_edge_litert.interpreter import Interpreter
    from transformers import AutoModelForImageTextToText, AutoProcessor

    out = request.getfixturevalue(export_fixture)
    manifest = load_manifest(out)
    components = manifest.settings.components
    assert {"prefill_decode", "embedder", "vision_encoder", "vision_adapter", "tokenizer", "litertlm"} <= set(
        components.present()
    )
    trained = load_manifest(tiny_vision_model).settings.image_normalisation
    assert manifest.settings.image_normalisation == trained and trained.do_normalize
    encoder = Interpreter(model_path=str(out / components.vision_encoder)).get_signature_runner()
    processor = AutoProcessor.from_pretrained(tiny_vision_model).image_processor
    tower = AutoModelForImageTextToText.from_pretrained(tiny_vision_model).eval().model.vision_tower
    cases = manifest.results.parity.cases
    assert cases and all(case.kind == "image" for case in cases)
    assert all(case.direction.startswith("und_Zyyy->") for case in cases)  # the dataset's tag, not "image->"
    for case in cases:
        image = (
            Image.open(case.image).convert("RGB").resize((processor.size["width"], processor.size["height"]))
        )
        device = np.asarray(image, dtype=np.float32)[None] / 255.0  # NHWC in [0, 1]
        exported = encoder(images=device)["features"][0]
        with torch.no_grad():
            as_trained = tower(pixel_values=processor(images=image, return_tensors="pt").pixel_values)
            raw = tower(pixel_values=torch.from_numpy(device).permute(0, 3, 1, 2))
        as_trained, raw = as_trained.last_hidden_state[0].numpy(), raw.last_hidden_state[0].numpy()
        error = np.abs(exported - as_trained).max() / np.abs(as_trained).max()
        assert error < 0.1, case.image  # int8 weights: ~2%
        # and the normalisation matters for this image (it would not for a plain white one)
        assert np.abs(exported - raw).max() / np.abs(as_trained).max() > 5 * error, case.image


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
        model = Interpreter(model_path=str(out / settings.components.prefill_decode))
        return settings.prefill_lengths, set(model.get_signature_list())

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
        (out / load_manifest(out).settings.components.prefill_decode).stat().st_size
        for out in (tiny_text_export, text_fp32_export)
    ]
    assert sizes[0] < sizes[1]


def test_cli_verify_passes_and_leaves_the_export_untouched(tiny_text_export, memorised_text_pairs, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(tiny_text_export, out)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(row(p)) + "\n" for p in memorised_text_pairs), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    report_file = tmp_path / "parity.json"
    result = CliRunner().invoke(
        cli, ["export", "verify", str(out), "--prompts", str(prompts), "--report", str(report_file)]
    )
    assert result.exit_code == 0, result.output
    n = len(memorised_text_pairs)
    assert f"parity passed: {n}/{n} identical, 0 near-ties, 0 divergent" in result.output
    assert {
        p.name: p.read_bytes() for p in out.iterdir()
    } == before  # byte-identical: verify never writes there
    report = ParityReport.model_validate_json(report_file.read_text(encoding="utf-8"))
    assert report.passed and report.prompt_source == "given"
    assert [c.litert_text for c in report.cases] == [p.answer for p in memorised_text_pairs]


def test_verify_names_a_swapped_model(tiny_text_export, tiny_vision_export, memorised_text_pairs, tmp_path):
    """An export whose model is not the checkpoint's (the vision model's .litertlm in the text export): the
    parity check catches it, explains the first failing prompt, and the CLI exits 1."""
    out = tmp_path / "swapped"
    shutil.copytree(tiny_text_export, out)
    litertlm = load_manifest(out).settings.components.litertlm
    shutil.copyfile(tiny_vision_export / load_manifest(tiny_vision_export).settings.components.litertlm,
                    out / litertlm)  # fmt: skip
    manifest = load_manifest(out, verify=False)
    write_manifest(manifest.model_copy(update={"files": list_files(out)}), out)
    with pytest.raises(ParityError, match="parity failed") as err:
        verify(out, prompts=memorised_text_pairs, report_file=tmp_path / "r.json")
    report = ParityReport.model_validate_json((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert not report.passed and report.first_failure is not None
    assert report.first_failure.id in str(err.value)
    result = CliRunner().invoke(cli, ["export", "verify", str(out)])
    assert result.exit_code == 1 and "parity failed" in result.output


def moved_together(export_dir: Path, model_dir: Path, to: Path) -> tuple[Path, Path]:
    """Copies of an export and its model under ``to``, laid out as the originals were relative to each other."""
    common = Path(os.path.commonpath([export_dir, model_dir]))
    copies = tuple(to / d.relative_to(common) for d in (export_dir, model_dir))
    for src, dst in zip((export_dir, model_dir), copies, strict=True):
        shutil.copytree(src, dst)
    return copies


def test_verify_finds_the_model_by_hash_after_both_moved(tiny_text_export, tiny_text_model, memorised_text_pairs,
                                                          tmp_path):  # fmt: skip
    """The export records its model relative to itself and by manifest hash: moved together, verify still finds
    it; a model replaced there (another manifest) is refused, naming what to pass instead."""
    out, model = moved_together(tiny_text_export, tiny_text_model, tmp_path / "moved")
    report = verify(out, prompts=memorised_text_pairs)
    assert report.passed and report.reference == str(model.resolve())
    assert [c.litert_text for c in report.cases] == [p.answer for p in memorised_text_pairs]

    replaced = load_manifest(model).model_copy(update={"name": "another-model"})
    write_manifest(replaced, model)
    with pytest.raises(ExportError, match="another artifact now .*--model"):
        verify(out, prompts=memorised_text_pairs)
    result = CliRunner().invoke(cli, ["export", "verify", str(out)])
    assert result.exit_code == 1 and "its parent model" in " ".join(result.output.split())
    shutil.rmtree(model)
    with pytest.raises(ExportError, match="is not there"):
        verify(out, prompts=memorised_text_pairs)


def row(pair) -> dict:
    """A memorised pair as a dataset row (docs/contracts.md, dataset)."""
    src, tgt = pair.source, pair.target
    return {"source_language": src.language, "source_script": src.script, "target_language": tgt.language,
            "target_script": tgt.script, "dialect": tgt.dialect or src.dialect, "source_text": str(pair.input)}  # fmt: skip


def test_manifest_name_is_not_a_component(tiny_text_export):
    assert (tiny_text_export / MANIFEST_NAME).is_file()
    assert MANIFEST_NAME not in load_manifest(tiny_text_export).settings.components.present().values()


def test_a_plain_checkpoint_is_exported_without_being_written_to(
    tiny_text_model, memorised_text_pairs, tmp_path
):
    """A stage writes only under its own output: the plain checkpoint's description goes into the export."""
    plain = tmp_path / "plain"
    shutil.copytree(tiny_text_model, plain)
    (plain / MANIFEST_NAME).unlink()
    before = {p.name: p.read_bytes() for p in plain.iterdir()}
    manifest = export(plain, tmp_path / "out", quantization="fp32", prompts=memorised_text_pairs, backend="tiny",
                      **EXPORT)  # fmt: skip
    assert {p.name: p.read_bytes() for p in plain.iterdir()} == before  # no manifest written into the input
    assert manifest.parent is None
    described = manifest.settings.source_checkpoint
    assert described.path == str(plain) and described.described["kind"] == "model"
    assert described.described["settings"]["described_by"].startswith("tmz-export")
    assert {f["path"] for f in described.described["files"]} == set(before)
