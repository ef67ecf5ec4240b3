"""Bundles an attacker altered: each is refused by verify and by catalog, from the embedded manifest alone (no
manifest beside the file), and verify never prints OK for a comparison it did not make."""

import json
import shutil
import warnings
import zipfile

import pytest
from click.testing import CliRunner

from tmz.bundle import (
    BundleError,
    CorruptBundleError,
    IntegrityError,
    build_catalog,
    check_integrity,
    inspect_bundle,
    keygen,
    litertlmfile,
    taskfile,
    verify_bundle,
)
from tmz.bundle.naming import sidecar_name
from tmz.core.cli import cli

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model


def lone_copy(src, dst_dir):
    """The bundle alone in ``dst_dir``: no manifest beside it, as a downloaded or copied file often is."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    return dst


def flip(path, section_name):
    info = inspect_bundle(path)
    s = info.section(section_name)
    data = bytearray(path.read_bytes())
    data[s.offset + s.size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def task_entries(path):
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def rewrite_task(path, entries):
    with open(path, "wb") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, which is the point
        taskfile.write_task(f, entries)


def refused(path, needle, keys):
    """verify (no smoke), the runtime's check and catalog all refuse ``path``, naming it and ``needle``
    (``keys``: a folder for the signing key, outside the bundle's)."""
    with pytest.raises(IntegrityError, match=needle):
        verify_bundle(path, smoke=False)
    with pytest.raises(IntegrityError, match=needle):
        check_integrity(path)
    private, _ = keygen(keys / "k")
    with pytest.raises(IntegrityError, match=needle):
        build_catalog(path.parent, private)
    assert not (path.parent / "catalog.json").exists()


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_flipped_model_byte_without_a_manifest_beside_it(tiny_text_bundles, tmp_path, fmt):
    path = lone_copy(tiny_text_bundles[fmt], tmp_path / "dist")
    flip(path, taskfile.MODEL if fmt == "task" else "tf_lite_prefill_decode")
    refused(path, "has sha256 .* its manifest says", tmp_path)


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_appended_junk_without_a_manifest_beside_it(tiny_text_bundles, tmp_path, fmt):
    path = lone_copy(tiny_text_bundles[fmt], tmp_path / "dist")
    with open(path, "ab") as f:
        f.write(b"#!/bin/sh\necho owned\n")
    needle = "bytes follow the end of the zip" if fmt == "task" else "bytes follow the last section"
    refused(path, needle, tmp_path)


@pytest.mark.parametrize("name", ["../../x", "/abs/x", "sub/x", "C:\\x"])
def test_task_entry_named_as_a_path(tiny_text_bundles, tmp_path, name):
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "dist")
    rewrite_task(path, [*task_entries(path), (name, b"payload")])
    refused(path, f"entry {name!r} is a path.*section {name!r} is not one its manifest lists".replace("\\", "\\\\"),
            tmp_path)  # fmt: skip


def test_task_with_an_extra_or_duplicate_entry(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "a")
    rewrite_task(path, [*task_entries(path), ("EXTRA", b"more")])
    refused(path, "section 'EXTRA' is not one its manifest lists", tmp_path / "key-a")
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "b")
    entries = task_entries(path)
    model = next(data for name, data in entries if name == taskfile.MODEL)
    evil = bytearray(model)
    evil[len(evil) // 2] ^= 0x01
    rewrite_task(path, [*entries, (taskfile.MODEL, bytes(evil))])  # a reader taking the last one runs this
    refused(path, "entry 'TF_LITE_PREFILL_DECODE' appears twice", tmp_path / "key-b")


def test_task_not_aligned(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "dist")
    entries = task_entries(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:  # the same bytes, plainly zipped
        for name, data in entries:
            zf.writestr(name, data)
    check = inspect_bundle(path)
    assert [s.name for s in check.sections] == [n for n, _ in entries]  # every section's bytes are intact
    refused(path, "not aligned to 4096", tmp_path)


def test_task_local_header_naming_another_entry(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "dist")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        at = zf.getinfo(taskfile.MODEL).header_offset + 30 + len(taskfile.MODEL) - 1
    data[at] ^= 0x01  # the model's local header: a reader going by local headers finds another name
    path.write_bytes(bytes(data))
    refused(path, "its local header names another entry", tmp_path)
    deflated = lone_copy(tiny_text_bundles["task"], tmp_path / "deflated")
    data = bytearray(deflated.read_bytes())
    data[8] = zipfile.ZIP_DEFLATED  # the first local header's method: the zip directory still says stored
    deflated.write_bytes(bytes(data))
    refused(deflated, "its local header says another method or size", tmp_path / "k2")
    small = lone_copy(tiny_text_bundles["task"], tmp_path / "small")
    data = bytearray(small.read_bytes())
    with zipfile.ZipFile(small) as zf:
        at = zf.getinfo(taskfile.METADATA).header_offset + 30
    data[at : at + 8] = b"METADATX"
    small.write_bytes(bytes(data))
    with pytest.raises(CorruptBundleError, match="entry 'METADATA' cannot be read .*differ"):
        inspect_bundle(small)  # entries read whole (METADATA, TMZ_MANIFEST) go through zipfile's own checks


def test_task_with_bytes_before_the_first_entry(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["task"], tmp_path / "dist")
    path.write_bytes(b"PK\x03\x04" + bytes(60) + path.read_bytes())  # zipfile shifts every offset to match
    refused(path, "starts at byte 64, expected 0", tmp_path)


def _litertlm(path, tokenizer=None, extra_models=None, manifest=None):
    """Rebuild the ``.litertlm`` at ``path`` from its own sections, with the given changes."""
    info = inspect_bundle(path)
    tmp = path.parent / "parts"
    tmp.mkdir()
    model = tmp / "model.tflite"
    model.write_bytes(info.section("tf_lite_prefill_decode").read(path))
    models = {"prefill_decode": model}
    for role, data in (extra_models or {}).items():
        (tmp / role).write_bytes(data)
        models[role] = tmp / role
    md = info.section(litertlmfile.LLM_METADATA).read(path)
    sp = tokenizer if tokenizer is not None else info.section(litertlmfile.TOKENIZER).read(path)
    text = manifest if manifest is not None else info.system_metadata[litertlmfile.MANIFEST_KEY]
    with open(path, "wb") as f:
        litertlmfile.write_litertlm(f, llm_metadata=md, tokenizer=sp, models=models,
                                    system_metadata={litertlmfile.MANIFEST_KEY: text})  # fmt: skip
    shutil.rmtree(tmp)


def test_litertlm_rebuilt_around_its_genuine_manifest(tiny_text_bundles, tmp_path):
    """The embedded manifest is genuine, its hashes match the genuine file: the sections are another's."""
    path = lone_copy(tiny_text_bundles["litertlm"], tmp_path / "a")
    sp = bytearray(inspect_bundle(path).section(litertlmfile.TOKENIZER).read(path))
    sp[-1] ^= 0x01
    _litertlm(path, tokenizer=bytes(sp))
    refused(path, "section 'SP_Tokenizer' has sha256", tmp_path / "key-a")
    path = lone_copy(tiny_text_bundles["litertlm"], tmp_path / "b")
    model = inspect_bundle(path).section("tf_lite_prefill_decode").read(path)
    _litertlm(path, extra_models={"embedder": model})
    refused(path, "section 'tf_lite_embedder' is not one its manifest lists", tmp_path / "key-b")


def test_litertlm_carrying_another_bundles_manifest(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["litertlm"], tmp_path / "dist")
    other = inspect_bundle(tiny_text_bundles["task"]).manifest.model_dump_json()
    _litertlm(path, manifest=other)
    refused(path, "is not one its manifest lists", tmp_path)


def test_litertlm_padding_that_is_not_zeros(tiny_text_bundles, tmp_path):
    path = lone_copy(tiny_text_bundles["litertlm"], tmp_path / "dist")
    info = inspect_bundle(path)
    data = bytearray(path.read_bytes())
    data[info.section(litertlmfile.TOKENIZER).offset - 10] = 0x41
    path.write_bytes(bytes(data))
    refused(path, "the padding before section 'SP_Tokenizer' .* is not zeros", tmp_path)


def test_a_bundle_without_a_tmz_manifest_is_not_signed(tiny_text_export, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(tiny_text_export / "model.litertlm", dist / "other.litertlm")  # litert-torch's own bundle
    private, _ = keygen(tmp_path / "keys" / "k")
    with pytest.raises(BundleError, match="holds no tmz manifest"):
        build_catalog(dist, private)


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_verify_says_what_it_compared(tiny_text_bundles, tmp_path, fmt):
    runner = CliRunner()
    alone = lone_copy(tiny_text_bundles[fmt], tmp_path / "alone")
    out = runner.invoke(cli, ["bundle", "verify", str(alone), "--no-smoke"]).output
    assert "not compared (no manifest beside it" in " ".join(out.split()) and " OK" not in out
    both = lone_copy(tiny_text_bundles[fmt], tmp_path / "both")
    sidecar = tiny_text_bundles[fmt].with_name(sidecar_name(alone.name))
    shutil.copy(sidecar, both.with_name(sidecar.name))
    out = " ".join(runner.invoke(cli, ["bundle", "verify", str(both), "--no-smoke"]).output.split())
    assert f"matches {sidecar.name}" in out
    report = json.loads(runner.invoke(cli, ["bundle", "verify", str(alone), "--no-smoke", "--json"]).output)
    assert report["sidecar"] is None
