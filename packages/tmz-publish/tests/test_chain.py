"""Through the real chain: a corpus prepared under CC BY-SA 4.0 carries its license to the adapter, model, export
and bundle manifests; the pipeline leaves a valid card beside each artifact; the bundle's dry run lists it all."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from rich.console import Console

from tmz.core.cli import cli
from tmz.core.manifest import load_manifest
from tmz.pipeline.config import (
    BundleSection,
    DataSection,
    EvalSection,
    ExportSection,
    PipelineConfig,
    PipelineSection,
    TrainSection,
)
from tmz.pipeline.run import run_pipeline
from tmz.publish import open_artifact
from tmz.publish.validate import card_problems

pytestmark = pytest.mark.slow

TRAIN = {
    "lora.r": 8, "lora.alpha": 16, "lora.dropout": 0.0, "training.max_steps": 4, "training.per_device_batch_size": 4,
    "training.gradient_accumulation_steps": 1, "training.packing": False, "training.gradient_checkpointing": False,
    "training.save_steps": 10_000, "data.eval_split": None, "eval.after_training": False,
}  # fmt: skip


def test_license_travels_and_every_artifact_gets_a_card(corpus, tmp_path) -> None:
    work = tmp_path / "work"
    options = {"license": "CC-BY-SA-4.0", "attribution": "Phrases written for the tmz tests",
               "validation_ratio": 0.0, "test_ratio": 0.0}  # fmt: skip
    config = PipelineConfig(
        pipeline=PipelineSection(name="lic", workdir=work), data=DataSection(sources=[corpus], options=options),
        train=TrainSection(backend="tiny", overrides=TRAIN), eval=EvalSection(split="train"),
        export=ExportSection(quantization="fp32", prefill_lengths=[32], kv_cache=128, parity_split="train",
                             parity_prompts=2, max_new_tokens=4),
        bundle=BundleSection(formats=["task"]),
    )  # fmt: skip
    report = run_pipeline(config, console=Console(quiet=True), until="bundle")
    [bundle] = report.bundles
    for path in (work / "data", work / "adapter", work / "model", work / "export", bundle):
        artifact = open_artifact(path)
        [term] = artifact.manifest.licenses  # each manifest carries it itself, not only through its lineage
        assert (term.spdx, term.share_alike) == ("CC-BY-SA-4.0", True), path
        card = artifact.card_path()
        assert card.is_file(), card
        text = card.read_text(encoding="utf-8")
        assert "license: cc-by-sa-4.0" in text and "ShareAlike" in text
        assert (
            card_problems(text, "dataset" if path.name == "data" else "model", artifact.licenses()) == []
        ), path
    assert "model-index" in (work / "model" / "README.md").read_text(
        encoding="utf-8"
    )  # the pipeline's evaluation
    assert "derives from" in (work / "logs" / "merge.log").read_text(encoding="utf-8")  # the stage flagged it
    assert load_manifest(work / "export").licenses == load_manifest(work / "data").licenses

    run = CliRunner().invoke(cli, ["publish", str(bundle), "--repo", "org/zgh-task", "--dry-run"],
                             env={"COLUMNS": "1000"})  # fmt: skip
    assert run.exit_code == 0, run.output
    out = run.output
    size = bundle.stat().st_size
    assert re.search(rf"^  {re.escape(bundle.name)}\s+{size:,} B$", out, re.M)
    assert re.search(rf"^  {re.escape(bundle.name)}\.tmz-manifest\.json\s+[\d,]+ B$", out, re.M)
    assert re.search(rf"README.md\s+[\d,]+ B  card \({re.escape(str(bundle))}\.README\.md\)", out)
    assert "license: cc-by-sa-4.0 (CC-BY-SA-4.0)" in out and "dry run: nothing uploaded" in out
