"""A tiny random Gemma 4 E2B-like checkpoint, built offline with tmz-train's tiny tokenizer and the Gemma 4
chat format: per-layer inputs, KV sharing (the last layers read earlier layers' caches), sliding and full
attention with Gemma 4's two rope settings, tied embeddings. Imported only when building (needs tmz-train)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Vocabulary of the tiny tokenizer (tmz-train's train_sentencepiece default, as the tiny Gemma 3).
VOCAB_SIZE = 512

TEXT_CONFIG: dict[str, Any] = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=2, num_key_value_heads=1,
    head_dim=32, hidden_size_per_layer_input=16, num_kv_shared_layers=2, sliding_window=64,
    max_position_embeddings=1024, initializer_range=0.1,
    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
)  # fmt: skip


def model(tok: Any, seed: int = 0) -> Any:
    """The random ``Gemma4ForConditionalGeneration`` (text only: no vision or audio tower) for ``tok``."""
    import torch
    from transformers import GenerationConfig
    from transformers.models.gemma4 import Gemma4Config, Gemma4ForConditionalGeneration, Gemma4TextConfig

    from tmz_backend_gemma4.plugin import GEMMA4

    torch.manual_seed(seed)
    eos = [tok.eos_token_id, tok.convert_tokens_to_ids(GEMMA4.turn_end)]
    text = Gemma4TextConfig(vocab_size=len(tok), vocab_size_per_layer_input=len(tok), pad_token_id=0,
                            eos_token_id=eos, bos_token_id=2, **TEXT_CONFIG)  # fmt: skip
    net = Gemma4ForConditionalGeneration(
        Gemma4Config(text_config=text, vision_config=None, audio_config=None)
    )
    net.config.eos_token_id = eos
    net.generation_config = GenerationConfig(
        bos_token_id=2, eos_token_id=eos, pad_token_id=0, do_sample=False
    )
    return net.eval()


def build(out: str | Path, *, texts=None, seed: int = 0, overwrite: bool = False, **_: Any) -> Any:
    """Build ``tiny-gemma4`` into ``out`` (tmz-train's tiny recipe: tokenizer, manifest) -> its model manifest."""
    from tmz.train.tiny import build_tiny
    from tmz_backend_gemma4.plugin import GEMMA4

    return build_tiny(out, texts=texts, seed=seed, overwrite=overwrite, backend="tiny-gemma4",
                      model=lambda tok: model(tok, seed), text_config=TEXT_CONFIG, chat=GEMMA4)  # fmt: skip
