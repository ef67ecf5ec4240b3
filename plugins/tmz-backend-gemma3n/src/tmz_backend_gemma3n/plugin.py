"""Hook implementation: the ``gemma3n-e2b-text`` model backend.

Where each fact comes from (transformers 5.23 and litert-torch 0.10 as installed; the tests re-check them):

- architecture: ``Gemma3nForConditionalGeneration``, the class transformers maps model type ``gemma3n`` to for
  both ``AutoModelForCausalLM`` and ``AutoModelForImageTextToText``. That the E2B checkpoint's own config.json
  names it could not be checked here (no hub access).
- vocab_size: 262,400, ``Gemma3nTextConfig``'s default (its docstring names the E4B checkpoint; the E2B
  checkpoint's config.json could not be checked here). Per-layer embeddings cover the first 262,144 ids.
- export_task: ``text_generation``, a litert-torch ``ExportTask``. litert-torch's Gemma 3n exportables require
  ``externalize_embedder=True``, and its LiteRT-LM metadata reads the text config's model type
  (``gemma3n_text``, which it does not map), so the backend declares both in ``export_options``, which
  tmz-export passes to litert-torch.
- model_type: ``gemma3n``, the LiteRT-LM ``LlmModelType`` litert-torch writes for Gemma 3n.
- modalities: text only. Gemma 3n also reads images (MobileNet-V5 encoder, needs timm) and audio, but tmz's
  image pipeline is built for Gemma 3's SigLIP encoder, so this backend does not offer them.
- prepare_export: litert-torch 0.10 converts Gemma 3n with its sparsity cutoffs uninitialised and without the
  final logit soft-cap; :mod:`tmz_backend_gemma3n.conversion` repairs both before conversion.
- quantization_skip_modules: AltUp's blocks (clamped in place while training) and the output head.
- lora_targets: the attention and MLP projections of the language model only. ``all-linear`` (and a plain
  list of names such as ``q_proj``) would also adapt the audio encoder, whose attention has q/k/v projections
  of the same names, and the AltUp/LAuReL/per-layer-embedding projections.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tmz.core.errors import UnsupportedModelError
from tmz.core.hookspecs import hookimpl
from tmz.core.registry import ModelBackend

#: peft ``target_modules`` as a regular expression (peft matches a string with ``re.fullmatch``).
LANGUAGE_MODEL_PROJECTIONS = (
    r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
)


#: Kept out of QLoRA's 4-bit quantization: AltUp's blocks (their prediction coefficients are clamped in place
#: while training, modeling_gemma3n.py:1027, which a packed 4-bit weight cannot take) and the output head
#: (transformers' default, which a skip list replaces).
QUANTIZATION_SKIP_MODULES = (r".*\.altup", "lm_head")


#: Why litert-torch 0.10 cannot convert a text-only Gemma 3n checkpoint (evidence in the README).
TEXT_ONLY_REFUSAL = (
    "{path}: a text-only Gemma 3n checkpoint (model type gemma3n_text, {arch}) cannot be exported correctly by "
    "litert-torch 0.10: its Gemma 3n exportables and its per-layer embedder are chosen only for model type "
    "gemma3n (model_ext/exportables.py:45 and :159), so this checkpoint takes the generic path, whose external "
    "embedder passes inputs_embeds alone and transformers then builds the per-layer inputs from the projection "
    "only (modeling_gemma3n.py:1774): the table embed_tokens_per_layer is dropped and the .litertlm would not "
    "answer as this model does. Export the Gemma3nForConditionalGeneration checkpoint it came from (needs timm)"
)
#: Why a full Gemma 3n checkpoint cannot even be loaded here.
NO_TIMM_REFUSAL = (
    "{path}: loading Gemma3nForConditionalGeneration builds its vision tower with timm (transformers' "
    "TimmWrapperModel, modeling_timm_wrapper.py:169), and timm is not installed; install timm and torchvision "
    "to export its text path"
)


def refuse_export(path: Path, config: Mapping[str, Any]) -> None:
    """Refuse the Gemma 3n checkpoints litert-torch would convert wrongly or that cannot be loaded here."""
    model_type = config.get("model_type")
    arch = ", ".join(config.get("architectures") or [])
    if model_type == "gemma3n_text":
        raise UnsupportedModelError(TEXT_ONLY_REFUSAL.format(path=path, arch=arch))
    if model_type == "gemma3n" and importlib.util.find_spec("timm") is None:
        raise UnsupportedModelError(NO_TIMM_REFUSAL.format(path=path))


def prepare_export(model: Any) -> None:
    """Repair litert-torch 0.10's Gemma 3n model before conversion (:mod:`tmz_backend_gemma3n.conversion`)."""
    from tmz_backend_gemma3n.conversion import prepare_export as repair

    repair(model)


def build_tiny(out: Path, *, texts: Any, seed: int, overwrite: bool = False) -> Any:
    """The ``gemma3n-tiny`` base (:mod:`tmz_backend_gemma3n.tiny`, imported only when a base is built)."""
    from tmz_backend_gemma3n.tiny import build

    return build(out, texts=texts, seed=seed, overwrite=overwrite)


def backend() -> ModelBackend:
    return ModelBackend(
        name="gemma3n-e2b-text",
        model_id="google/gemma-3n-E2B-it",
        architecture="Gemma3nForConditionalGeneration",
        modalities=("text",),
        auto_class="AutoModelForCausalLM",
        lora_targets=LANGUAGE_MODEL_PROJECTIONS,
        export_task="text_generation",
        model_type="gemma3n",
        vocab_size=262400,
        description="Gemma 3n E2B instruction-tuned (effective 2B parameters), used for text translation",
        export_options={"externalize_embedder": True, "litert_lm_model_type_override": "gemma3n"},
        refuse_export=refuse_export,
        prepare_export=prepare_export,
        quantization_skip_modules=QUANTIZATION_SKIP_MODULES,
    )


def tiny_backend() -> ModelBackend:
    """The tiny random Gemma 3n (with its vision and audio towers) built offline (tests and the example
    pipeline)."""
    from tmz.core.builtins import TINY_VOCAB_SIZE

    return dataclasses.replace(
        backend(),
        name="gemma3n-tiny",
        model_id="local:tiny-gemma3n-text",
        vocab_size=TINY_VOCAB_SIZE + 16,  # tmz_backend_gemma3n.tiny.SOFT_TOKENS
        description="tiny random Gemma 3n built offline, towers included (tests, examples/pipeline-tiny-gemma3n.toml)",
        local=True,
        build_tiny=build_tiny,
    )


@hookimpl
def register_model_backends(register):
    register(backend())
    register(tiny_backend())
