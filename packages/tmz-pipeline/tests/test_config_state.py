import io
from pathlib import Path

import pytest
from rich.console import Console

from tmz.core.errors import ConfigError
from tmz.core.kinds.dataset import PrepareOptions
from tmz.core.manifest import ModelManifest, Producer, list_files, write_manifest
from tmz.export.options import DEFAULTS as EXPORT_DEFAULTS
from tmz.pipeline.config import ExportSection, load_config
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


def test_stage_options_are_the_owning_packages(tmp_path):
    """[data] options is tmz-data's PrepareOptions and [export] extends tmz-export's ExportOptions: the same
    defaults, and the same checks."""
    body = '[data]\nsources = ["c.csv"]\noptions = { transliterate = true, tokenizer = "tok" }\n'
    c = load_config(_toml(tmp_path, body + "[export]\nkv_cache = 256\nparity_prompts = 3\n"))
    tokenizer = str(tmp_path / "tok")  # relative to the file, like every path in it
    assert c.data.options == PrepareOptions(transliterate=True, tokenizer=tokenizer)
    assert (c.export.kv_cache, c.export.parity_prompts, c.export.parity_split) == (256, 3, "test")
    defaults = ExportSection().model_dump(include=set(EXPORT_DEFAULTS.model_fields))
    assert defaults == EXPORT_DEFAULTS.model_dump()
    assert load_config(_toml(tmp_path, '[data]\nsources = ["a"]\n')).data.options == PrepareOptions()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("[data\n", "not valid TOML"),
        ("[pipeline]\nname = 'x'\n", "data: Field required"),
        ('[data]\nsources = ["a"]\n[export]\nquantization = "int3"\n', "export.quantization"),
        ('[data]\nsources = ["a"]\n[trian]\nbackend = "tiny"\n', "trian: Extra inputs"),
        (
            '[data]\nsources = ["a"]\noptions = { test_ratio = 1.5 }\n',
            "data.options: .*test_ratio must be in",
        ),
        ('[data]\nsources = ["a"]\noptions = { min_chars = "x" }\n', "data.options.min_chars"),
        ('[data]\nsources = ["a"]\n[export]\nkv_cache = 0\n', "export.kv_cache"),
        ('[data]\nsources = ["a"]\n[export]\nparity_rows = 4\n', "export.parity_rows: Extra inputs"),
        (
            '[data]\nsources = ["a"]\n[export]\noptions = { kv_cache = 64 }\n',
            "kv_cache: set in \\[export\\] itself",
        ),
    ],
)
def test_bad_configurations_name_the_field(tmp_path, body, match):
    cfg = tmp_path / "p.toml"
    cfg.write_text(body)
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)
    with pytest.raises(ConfigError, match="no such pipeline configuration"):
        load_config(tmp_path / "missing.toml")


def _toml(tmp_path, body):
    cfg = tmp_path / "q.toml"
    cfg.write_text(body)
    return cfg


def _artifact(root, text):
    root.mkdir(parents=True, exist_ok=True)
    (root / "x.txt").write_text(text)
    manifest = ModelManifest(
        name="d", producer=Producer.of("tmz-core"), backend="tiny", files=list_files(root)
    )
    write_manifest(manifest, root)
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
