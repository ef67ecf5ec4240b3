"""The Gemma 3 text backends' real configs (``ModelBackend.text_config``) as transformers' Gemma3TextConfig reads
them, against the published figures: Google's announcement of Gemma 3 270M (270M parameters: 170M embedding,
100M in the transformer blocks), litert-torch's gemma3 decoder configs and the 1B bench checkpoint."""

from __future__ import annotations

import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

from tmz.core.plugins import PluginSet

REGISTRY = PluginSet(only=set()).registry


def parameters(name: str) -> tuple[int, int]:
    """(embedding, other) parameter counts of the backend's model, built on the meta device (no memory)."""
    with torch.device("meta"):
        model = Gemma3ForCausalLM(Gemma3TextConfig(**REGISTRY.backend(name).text_config))
    embedding = model.get_input_embeddings().weight.numel()
    return embedding, sum(p.numel() for p in model.parameters()) - embedding


@pytest.mark.parametrize(("name", "layers"), [("gemma3-270m-text", 18), ("gemma3-1b-text", 26)])
def test_five_sliding_layers_to_one_global_with_their_rope(name, layers):
    config = Gemma3TextConfig(**REGISTRY.backend(name).text_config)
    assert len(config.layer_types) == layers
    assert [i for i, t in enumerate(config.layer_types) if t == "full_attention"] == list(range(5, layers, 6))
    assert config.sliding_window == 512 and config.max_position_embeddings == 32768
    assert config.rope_parameters["full_attention"]["rope_theta"] == 1_000_000.0
    assert config.rope_parameters["sliding_attention"]["rope_theta"] == 10_000.0
    assert config.query_pre_attn_scalar == config.head_dim == 256
    assert config.vocab_size == REGISTRY.backend(name).vocab_size == 262144
    assert config.tie_word_embeddings


def test_270m_has_the_announced_parameter_split():
    embedding, blocks = parameters("gemma3-270m-text")
    assert round(embedding / 1e6, -1) == 170 and round(blocks / 1e6, -1) == 100
    assert embedding + blocks == 268_098_176  # the bench's random-weight checkpoint (tied lm_head)


def test_1b_has_the_bench_checkpoints_parameter_count():
    assert sum(parameters("gemma3-1b-text")) == 999_885_952  # bench/README.md, export of the 1B architecture


def test_270m_differs_from_1b_only_in_width_and_depth():
    small, large = (REGISTRY.backend(n).text_config for n in ("gemma3-270m-text", "gemma3-1b-text"))
    assert {k for k in large if small[k] != large[k]} == {
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
    }
    assert REGISTRY.backend("gemma3-270m-text").model_id == "google/gemma-3-270m-it"
