import io
from pathlib import Path

import pytest
from rich.console import Console

from tmz.core.errors import ConfigError
from tmz.core.manifest import DatasetManifest, Producer, list_files, write_manifest
from tmz.pipeline.config import load_config
from tmz.pipeline.demo import demo_config, find_corpus
from tmz.pipeline.run import Runner, run_pipeline
from tmz.pipeline.state import PipelineState

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_config_paths_are_relative_to_the_file(tmp_path):
    cfg = tmp_path / "p.toml"
    cfg.write_text('[pipeline]\nworkdir = "w"\n[data]\nsources = ["c.csv"]\n[train]\nbackend = "tiny"\n')
    c = load_config(cfg)
    assert c.pipeline.workdir == tmp_path / "w" and c.data.sources == [tmp_path / "c.csv"]
    assert c.bundle.formats == ["task", "litertlm"] and c.export.quantization == "int8"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("[data\n", "not valid TOML"),
        ("[pipeline]\nname = 'x'\n", "data: Field required"),
        ('[data]\nsources = ["a"]\n[export]\nquantization = "int3"\n', "export.quantization"),
        ('[data]\nsources = ["a"]\n[trian]\nbackend = "tiny"\n', "trian: Extra inputs"),
    ],
)
def test_bad_configurations_name_the_field(tmp_path, body, match):
    cfg = tmp_path / "p.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)
    with pytest.raises(ConfigError, match="no such pipeline configuration"):
        load_config(tmp_path / "missing.toml")


def _artifact(root, text):
    root.mkdir(parents=True, exist_ok=True)
    (root / "x.txt").write_text(text)
    write_manifest(DatasetManifest(name="d", producer=Producer.of("tmz-core"), files=list_files(root)), root)
    return root / "tmz-manifest.json"


def test_stage_is_skipped_only_when_inputs_and_output_are_unchanged(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return _artifact(tmp_path / "art", "v1")

    def runner():
        return Runner(tmp_path, Console(quiet=True))

    runner().stage("s", {"in": 1}, tmp_path / "art" / "tmz-manifest.json", build)
    r = runner()
    r.stage("s", {"in": 1}, tmp_path / "art" / "tmz-manifest.json", build)
    assert len(calls) == 1 and r.report.stages[0].status == "skipped"
    runner().stage("s", {"in": 2}, tmp_path / "art" / "tmz-manifest.json", build)  # inputs changed
    assert len(calls) == 2
    (tmp_path / "art" / "x.txt").write_text("XX")  # artifact damaged after the run
    r = runner()
    r.stage("s", {"in": 2}, tmp_path / "art" / "tmz-manifest.json", build)
    assert len(calls) == 3 and r.report.stages[0].status == "ran"
    (tmp_path / "pipeline-state.json").write_text("{broken")
    assert PipelineState(tmp_path).records == {}


def test_demo_config_finds_the_project_corpus(tmp_path, monkeypatch):
    corpus = find_corpus()
    assert corpus.name == "phrases.csv"
    c = demo_config(tmp_path, corpus)
    assert c.train.backend == "tiny" and set(c.bundle.formats) == {"task", "litertlm"}
    monkeypatch.setattr("tmz.pipeline.demo.PACKAGE_CORPUS", "data/missing.csv")
    with pytest.raises(ConfigError, match="pass --corpus"):
        find_corpus(tmp_path)


def test_demo_until_prepare_builds_only_the_dataset(tmp_path):
    out = io.StringIO()
    report = run_pipeline(demo_config(tmp_path, find_corpus()), until="prepare", console=Console(file=out))
    assert [(s.stage, s.status) for s in report.stages] == [("prepare", "ran")]
    assert (tmp_path / "data" / "tmz-manifest.json").is_file() and not (tmp_path / "adapter").exists()
    assert "reading phrases.csv" in (tmp_path / "logs" / "prepare.log").read_text()  # the library's progress
    assert "✓ prepare" in out.getvalue() and "reading" not in out.getvalue()
    again = run_pipeline(demo_config(tmp_path, find_corpus()), until="prepare", console=Console(file=out))
    assert [s.status for s in again.stages] == [
        "skipped"
    ] and "prepare skipped (up to date)" in out.getvalue()
    with pytest.raises(ConfigError, match="choose one of prepare, finetune"):
        run_pipeline(demo_config(tmp_path, find_corpus()), until="deploy")


@pytest.mark.parametrize("name", ["pipeline-gemma3-1b.toml", "pipeline-gemma3-4b-vision.toml"])
def test_real_model_configurations_load_and_point_at_files(name):
    from tmz.core.plugins import get_registry
    from tmz.train import load_config as load_train_config

    c = load_config(EXAMPLES / name)
    assert get_registry().backend(c.train.backend).local is False
    assert all(s.is_file() for s in c.data.sources)
    load_train_config(c.train.config)  # the training TOML it names is valid
