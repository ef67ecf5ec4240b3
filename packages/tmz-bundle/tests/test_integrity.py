"""Truncated, corrupted, renamed and mismatched bundles are refused with named errors."""

import shutil

import pytest

from tmz.bundle import BundleError, CorruptBundleError, IntegrityError, inspect_bundle, verify_bundle
from tmz.bundle.naming import sidecar_name

pytestmark = pytest.mark.slow  # every test here uses a converted tiny model


def _copy(src, dst_dir, with_sidecar=True):
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    if with_sidecar:
        shutil.copy(src.with_name(sidecar_name(src.name)), dst.with_name(sidecar_name(src.name)))
    return dst


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_truncated_bundle_is_refused(tiny_text_bundles, tmp_path, fmt):
    path = _copy(tiny_text_bundles[fmt], tmp_path, with_sidecar=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptBundleError, match="truncated"):
        inspect_bundle(path)
    with pytest.raises(CorruptBundleError):
        verify_bundle(path, smoke=False)


@pytest.mark.parametrize("fmt", ["task", "litertlm"])
def test_corrupted_model_bytes_are_refused(tiny_text_bundles, tmp_path, fmt):
    path = _copy(tiny_text_bundles[fmt], tmp_path, with_sidecar=False)
    info = inspect_bundle(path)
    model = info.sections[0] if fmt == "task" else info.section("tf_lite_prefill_decode")
    data = bytearray(path.read_bytes())
    data[model.offset + model.size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=f"section '{model.name}' has sha256"):
        verify_bundle(path, smoke=False)


def test_bundle_differing_from_its_sidecar_is_refused(tiny_text_bundles, tmp_path):
    task = _copy(tiny_text_bundles["task"], tmp_path)
    verify_bundle(task, smoke=False)  # the untouched copy passes
    data = bytearray(task.read_bytes())
    data[30 + len("TF_LITE_PREFILL_DECODE") + 4 + 10] = 0x41  # in the alignment padding: no section's bytes
    task.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256 .* does not match .*tmz-manifest.json"):
        verify_bundle(task, smoke=False)
    with open(task, "ab") as f:
        f.write(b"\0")  # still a valid zip (trailing bytes), but not the file the manifest lists
    with pytest.raises(IntegrityError, match="1 bytes follow the end of the zip"):
        verify_bundle(task, smoke=False)


def test_bundle_paired_with_another_bundles_manifest_is_refused(tiny_text_bundles, tmp_path):
    task = _copy(tiny_text_bundles["task"], tmp_path)
    other = tiny_text_bundles["litertlm"]
    shutil.copy(other.with_name(sidecar_name(other.name)), task.with_name(sidecar_name(task.name)))
    with pytest.raises(IntegrityError, match="lists no file named"):
        verify_bundle(task, smoke=False)


def test_not_a_bundle(tiny_text_bundles, tmp_path):
    junk = tmp_path / "junk.task"
    junk.write_bytes(b"not a bundle at all")
    with pytest.raises(CorruptBundleError, match="neither a .task"):
        inspect_bundle(junk)
    renamed = tmp_path / "model.litertlm"
    shutil.copy(tiny_text_bundles["task"], renamed)
    with pytest.raises(CorruptBundleError, match="holds a .task bundle but is named .litertlm"):
        inspect_bundle(renamed)
    with pytest.raises(BundleError, match="no such bundle"):
        verify_bundle(tmp_path / "missing.task")
