"""Parameter counts per part, read from safetensors headers; a file that is not safetensors is named."""

import pytest
import torch
from safetensors.torch import save_file

from tmz.export.errors import ExportError
from tmz.export.parts import tensor_shapes


def test_shapes_come_from_the_headers(tmp_path):
    save_file(
        {"model.language_model.w": torch.zeros(3, 4), "lm_head.weight": torch.zeros(5)},
        tmp_path / "a.safetensors",
    )
    assert tensor_shapes(tmp_path) == {"model.language_model.w": [3, 4], "lm_head.weight": [5]}


def test_a_file_that_is_not_safetensors_is_named(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(
        ExportError, match=r"model\.safetensors: not a safetensors file .*re-save the checkpoint"
    ):
        tensor_shapes(tmp_path)
