import pytest

from tmz.bundle.errors import BundleError
from tmz.bundle.naming import bundle_filename, quantization_tag, sidecar_name


@pytest.mark.parametrize(
    ("quantization", "tag"),
    [
        ("int8", "q8"),
        ("dynamic_wi8_afp32", "q8"),
        ("int4", "q4"),
        ("fp16", "f16"),
        ("fp32", "f32"),
        (None, "f32"),
    ],
)
def test_quantization_tags(quantization, tag):
    assert quantization_tag(quantization) == tag


def test_litert_community_style_names():
    assert bundle_filename("gemma3-1b-text", "int8", 1024, "task") == "gemma3-1b-text-tmz_q8_ekv1024.task"
    assert bundle_filename("gemma3-4b-vision", "int4", 2048, "litertlm", name="tmz-zgh") == (
        "gemma3-4b-vision-tmz-zgh_q4_ekv2048.litertlm"
    )
    assert sidecar_name("a.task") == "a.task.tmz-manifest.json"


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        (("tiny", "int8", 128, "zip"), {}, "bundle format 'zip'"),
        (("tiny", "int3", 128, "task"), {}, "quantization 'int3'"),
        (("tiny", "int8", 128, "task"), {"name": "My Bundle"}, "bundle name 'My Bundle'"),
    ],
)
def test_bad_names_are_refused(args, kwargs, needle):
    with pytest.raises(BundleError, match=needle):
        bundle_filename(*args, **kwargs)
