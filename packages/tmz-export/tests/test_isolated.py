"""The conversion in a child process (ExportOptions.isolate, on by default): the same files as in this process,
a TmzError from the child raised here with its class and message, and a child that dies named as such."""

from __future__ import annotations

import shutil
import sys

import pytest

from tmz.core.manifest import load_manifest
from tmz.export import export
from tmz.export.checkpoint import open_checkpoint
from tmz.export.errors import CheckpointError, ExportError
from tmz.export.isolated import convert_isolated
from tmz.export.options import DEFAULTS


def test_isolation_is_the_default():
    assert DEFAULTS.isolate is True


@pytest.mark.slow
def test_the_child_writes_what_this_process_writes_and_again_the_same(tiny_text_base, tmp_path):
    """The models are the same converted here or in the child; two children write byte-identical files but the
    .litertlm, which holds its creation time (here litert-torch orders the stop tokens of llm_metadata.pb by this
    process's string hash seed)."""
    digests = {}
    for run, isolate in (("child", True), ("child-again", True), ("here", False)):
        out = tmp_path / run
        export(tiny_text_base, out, quantization="int8", prefill_lengths=[32], kv_cache=128, parity=False,
               isolate=isolate)  # fmt: skip
        manifest = load_manifest(out, expect_kind="export")
        digests[run] = {f.path: f.sha256 for f in manifest.files if f.path != "model.litertlm"}
        assert manifest.results.export.peak_rss_mb > 0  # the child's memory is measured with this process's
    assert digests["child"] == digests["child-again"] and "llm_metadata.pb" in digests["child"]
    models = {path for path in digests["here"] if path.endswith(".tflite")}
    assert models and all(digests["child"][m] == digests["here"][m] for m in models)
    assert digests["child"]["tokenizer.model"] == digests["here"]["tokenizer.model"]


def test_a_child_killed_is_named_with_its_signal(tiny_text_base, tmp_path, monkeypatch):
    killer = tmp_path / "python"
    killer.write_text("#!/bin/sh\nkill -9 $$\n", encoding="utf-8")
    killer.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(killer))
    with pytest.raises(
        ExportError, match=r"ended with signal SIGKILL before writing its result.*out of memory"
    ):
        convert_isolated(open_checkpoint(tiny_text_base), tmp_path / "work", "int8", [32], 128, False, None,
                         "float32", "v1")  # fmt: skip


@pytest.mark.slow
def test_an_error_in_the_child_keeps_its_class_and_message(tiny_text_base, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_text_base, copy)
    ckpt = open_checkpoint(copy)
    shutil.rmtree(copy)  # gone before the child opens it
    with pytest.raises(CheckpointError, match=r"model: not a directory; point at a merged checkpoint"):
        convert_isolated(ckpt, tmp_path / "work", "int8", [32], 128, False, None, "float32", "v1")
