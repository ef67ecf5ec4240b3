"""Bundles built from the shared tiny exports: layout, manifests, lineage, and what is refused."""

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tmz.bundle import BundleError, bundle, inspect_bundle, read_embedded_manifest
from tmz.bundle.naming import sidecar_name
from tmz.bundle.taskfile import ALIGNMENT
from tmz.core.manifest import find_parent, load_manifest, manifest_hash

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model


def test_file_names_and_sidecar_manifests(tiny_text_bundles, tiny_text_export):
    export = load_manifest(tiny_text_export, expect_kind="export")
    for fmt, path in tiny_text_bundles.items():
        q = {"int8": "q8", "int4": "q4", "fp16": "f16", "fp32": "f32"}[export.settings.quantization]
        assert path.name == f"tiny-tmz_{q}_ekv{export.settings.kv_cache_max_len}.{fmt}"
        beside = load_manifest(
            path.with_name(sidecar_name(path.name)), expect_kind="bundle"
        )  # verifies sha256
        assert [f.path for f in beside.files] == [path.name]
        embedded = read_embedded_manifest(path)
        assert embedded.files == [] and embedded.format == fmt
        assert embedded.model_dump(exclude={"files"}) == beside.model_dump(exclude={"files"})
        assert (embedded.directions, embedded.languages, embedded.dialects) == (
            export.directions, export.languages, export.dialects
        )  # fmt: skip
        assert embedded.prompt_format == export.prompt_format == "tmz-v1"
        assert embedded.parent.sha256 == manifest_hash(tiny_text_export)
        assert not Path(embedded.parent.path).is_absolute()  # relative to the bundle's folder
        assert find_parent(embedded, path.parent) == tiny_text_export.resolve()
        lineage = embedded.results.lineage
        assert lineage[0].kind == "export" and lineage[0].sha256 == manifest_hash(tiny_text_export)
        assert [link.kind for link in lineage][1:2] == ["model"]
        assert lineage[1].sha256 == export.parent.sha256  # the model, found by the hash its export recorded
        settings = embedded.settings
        assert (settings.quantization, settings.kv_cache_max_len) == (
            export.settings.quantization, export.settings.kv_cache_max_len
        )  # fmt: skip
        assert settings.llm.model_dump() == export.settings.llm.model_dump(exclude={"chat_template"})
        assert [c.name for c in embedded.results.contents] == [s.name for s in inspect_bundle(path).sections
                                                                if s.name != "TMZ_MANIFEST"]  # fmt: skip
        sampler = settings.sampler
        assert (sampler.model_dump() if sampler else None) == (
            None if fmt == "task" else {"type": "top_p", "top_k": 1, "top_p": 1.0, "temperature": 0.0}
        )


def test_lineage_follows_parents_by_hash(tiny_text_export, tiny_text_model, tmp_path):
    """Export and model moved together: the lineage still reaches the model (by hash); without the model it ends
    at the export, and the bundle is still made."""
    common = Path(os.path.commonpath([tiny_text_export, tiny_text_model]))
    export, model = (tmp_path / "moved" / d.relative_to(common) for d in (tiny_text_export, tiny_text_model))
    shutil.copytree(tiny_text_export, export)
    shutil.copytree(tiny_text_model, model)
    lineage = bundle(export, "task", tmp_path / "a").results.lineage
    assert [(link.kind, link.sha256) for link in lineage[:2]] == [
        ("export", manifest_hash(export)), ("model", manifest_hash(model))
    ]  # fmt: skip
    assert lineage[1].name == load_manifest(model).name and lineage[1].producer.startswith("tmz-train")
    shutil.rmtree(model)
    lineage = bundle(export, "task", tmp_path / "b").results.lineage
    assert [link.kind for link in lineage] == ["export"]


def test_task_is_an_aligned_stored_zip_with_the_mediapipe_entries(tiny_text_bundles):
    path = tiny_text_bundles["task"]
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == [
            "TF_LITE_PREFILL_DECODE",
            "TOKENIZER_MODEL",
            "METADATA",
            "TMZ_MANIFEST",
        ]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert json.loads(zf.read("TMZ_MANIFEST"))["kind"] == "bundle"
        model = zf.read("TF_LITE_PREFILL_DECODE")
    info = inspect_bundle(path)
    assert all(s.offset % ALIGNMENT == 0 for s in info.sections)
    assert model[4:8] == b"TFL3"  # a TFLite flatbuffer, byte for byte
    assert info.llm["start_token"] == "<bos>" and "<end_of_turn>" in info.llm["stop_tokens"]


def test_litertlm_sections_and_metadata(tiny_text_bundles):
    info = inspect_bundle(tiny_text_bundles["litertlm"])
    assert [s.name for s in info.sections] == ["LlmMetadataProto", "SP_Tokenizer", "tf_lite_prefill_decode"]
    assert info.llm["llm_model_type"] == {"gemma3": {}}
    # TOP_P with k 1 is greedy (GREEDY is UNIMPLEMENTED in LiteRT-LM); temperature 0 is proto3's default
    assert info.llm["sampler_params"] == {"type": "TOP_P", "k": 1, "p": 1.0}
    assert info.manifest is not None and info.container_version.startswith("1.")


def test_vision_bundle_has_the_vision_sections(tiny_vision_bundle):
    info = inspect_bundle(tiny_vision_bundle)
    names = [s.name for s in info.sections]
    assert {"tf_lite_prefill_decode", "tf_lite_vision_encoder", "tf_lite_vision_adapter"} <= set(names)
    model_type = info.llm["llm_model_type"]
    (typed,) = model_type.values()
    assert typed["start_of_image_token"] == {"token_str": "<start_of_image>"}
    assert info.manifest.settings.modalities == ["text", "image"]


def test_task_refuses_a_sampler_it_cannot_carry(tiny_text_export, tmp_path):
    from tmz.bundle import SamplerDefaults

    with pytest.raises(BundleError, match="a .task cannot carry sampler defaults"):
        bundle(
            tiny_text_export, "task", tmp_path, sampler=SamplerDefaults(top_k=40, top_p=0.95, temperature=0.7)
        )
    assert list(tmp_path.iterdir()) == []
    assert bundle(tiny_text_export, "task", tmp_path, sampler=SamplerDefaults()).settings.sampler is None


def test_vision_export_refused_as_task(tiny_vision_export, tmp_path):
    with pytest.raises(BundleError, match="a .task holds text models only"):
        bundle(tiny_vision_export, "task", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_inspect_reads_litert_torchs_own_litertlm(tiny_text_export):
    export = load_manifest(tiny_text_export, expect_kind="export")
    path = tiny_text_export / export.settings.components.litertlm
    info = inspect_bundle(path)
    assert info.manifest is None
    assert "tf_lite_prefill_decode" in [s.name for s in info.sections]
    assert info.llm["start_token"] and info.llm["stop_tokens"]
    with pytest.raises(BundleError, match="holds no tmz manifest"):
        read_embedded_manifest(path)


def test_export_that_is_not_an_export_is_refused(tiny_text_bundles, tmp_path):
    from tmz.core.errors import ManifestError

    with pytest.raises(ManifestError, match="no tmz manifest"):
        bundle(tmp_path, "task", tmp_path / "out")
    with pytest.raises(BundleError, match="bundle format 'gguf'"):
        bundle(tmp_path, "gguf", tmp_path / "out")


def test_export_without_a_known_prompt_format_is_refused(tiny_text_export, tmp_path):
    import shutil

    from tmz.core.manifest import write_manifest

    copy = tmp_path / "export"
    shutil.copytree(tiny_text_export, copy)
    m = load_manifest(copy, expect_kind="export")
    write_manifest(m.model_copy(update={"prompt_format": None}), copy)
    with pytest.raises(BundleError, match="prompt format None, which no tmz runtime knows"):
        bundle(copy, "litertlm", tmp_path / "out")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


# -- parity verdict, releases that would replace each other, build paths ---------------------------------
def export_with_parity(export: Path, out: Path, parity) -> Path:
    """A copy of ``export`` whose manifest records ``parity`` (a ParityReport, or None: parity off)."""
    from tmz.core.manifest import write_manifest

    shutil.copytree(export, out)
    m = load_manifest(out, expect_kind="export")
    write_manifest(m.model_copy(update={"results": m.results.model_copy(update={"parity": parity})}), out)
    return out


def test_failed_or_missing_parity_is_refused_unless_allowed(tiny_text_export, tmp_path):
    from click.testing import CliRunner

    from tmz.core.cli import cli

    report = load_manifest(tiny_text_export, expect_kind="export").results.parity
    assert report is not None and report.passed
    failed = export_with_parity(tiny_text_export, tmp_path / "failed",
                                report.model_copy(update={"passed": False, "divergences": 1}))  # fmt: skip
    with pytest.raises(BundleError, match="parity check failed .*--allow-failed-parity"):
        bundle(failed, "task", tmp_path / "out")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    made = CliRunner().invoke(cli, ["bundle", "make", str(failed), "--out", str(tmp_path / "out")])
    assert made.exit_code == 1 and "--allow-failed-parity" in " ".join(made.output.split())
    made = CliRunner().invoke(cli, ["bundle", "make", str(failed), "--out", str(tmp_path / "out"),
                                    "--allow-failed-parity"])  # fmt: skip
    assert made.exit_code == 0 and "parity check failed" in " ".join(made.stderr.split())
    [path] = (tmp_path / "out").glob("*.task")
    verdict = read_embedded_manifest(path).results.parity
    assert (verdict.passed, verdict.allowed, verdict.divergences) == (False, True, 1)
    assert verdict.prompts == report.prompts and verdict.max_abs_delta == report.max_abs_delta

    off = export_with_parity(tiny_text_export, tmp_path / "off", None)
    with pytest.raises(BundleError, match="exported with parity off .*--allow-no-parity"):
        bundle(off, "task", tmp_path / "out2")
    verdict = bundle(off, "task", tmp_path / "out2", allow_no_parity=True).results.parity
    assert (verdict.passed, verdict.allowed, verdict.prompts) == (None, True, 0)
    with pytest.raises(BundleError, match="parity check failed"):
        bundle(failed, "task", tmp_path / "out3", allow_no_parity=True)  # one flag does not allow the other


def test_passing_parity_is_recorded(tiny_text_bundles, tiny_text_export):
    report = load_manifest(tiny_text_export, expect_kind="export").results.parity
    for path in tiny_text_bundles.values():
        verdict = read_embedded_manifest(path).results.parity
        assert (verdict.passed, verdict.allowed, verdict.exact) == (True, False, report.exact)
        assert verdict.tolerance_source == report.tolerance_source


def test_another_version_is_not_overwritten(tiny_text_export, tmp_path):
    first = bundle(tiny_text_export, "task", tmp_path, version="1.0.0")
    path = tmp_path / first.files[0].path
    bundle(tiny_text_export, "task", tmp_path, version="1.0.0")  # the same release, rebuilt
    with pytest.raises(
        BundleError, match="already holds version 1.0.0; bundling version 1.1.0 would replace"
    ):
        bundle(tiny_text_export, "task", tmp_path, version="1.1.0")
    assert read_embedded_manifest(path).settings.version == "1.0.0"
    path.write_bytes(b"junk")
    with pytest.raises(BundleError, match="not a readable tmz bundle"):
        bundle(tiny_text_export, "task", tmp_path, version="1.0.0")


def test_no_build_path_is_shipped(tiny_text_export, tmp_path):
    """Exported, moved and bundled under tmp_path, with a tokenizer that names its training files by absolute
    path (as SentencePiece records them): no absolute path of the build reaches the bundle or its manifest."""
    from sentencepiece import sentencepiece_model_pb2 as sp_model

    from tmz.core.manifest import list_files, write_manifest

    export = tmp_path / "build" / "export"
    shutil.copytree(tiny_text_export, export)
    tok = export / "tokenizer.model"
    proto = sp_model.ModelProto.FromString(tok.read_bytes())
    proto.trainer_spec.input.append(str(tmp_path / "build" / "corpus.txt"))
    proto.trainer_spec.model_prefix = str(export / "tokenizer")
    tok.write_bytes(proto.SerializeToString())
    m = load_manifest(export, expect_kind="export", verify=False)
    write_manifest(m.model_copy(update={"files": list_files(export)}), export)
    for fmt in ("task", "litertlm"):
        made = bundle(export, fmt, tmp_path / "dist")
        path = tmp_path / "dist" / made.files[0].path
        for f in (path, path.with_name(sidecar_name(path.name))):
            data = f.read_bytes()
            for secret in {str(tmp_path), str(Path.home()), str(Path.cwd()), str(tiny_text_export)}:
                assert secret.encode() not in data, (f.name, secret)
        sp = inspect_bundle(path).section("TOKENIZER_MODEL" if fmt == "task" else "SP_Tokenizer")
        shipped = sp_model.ModelProto.FromString(sp.read(path))
        assert list(shipped.trainer_spec.input) == [] and shipped.pieces == proto.pieces
