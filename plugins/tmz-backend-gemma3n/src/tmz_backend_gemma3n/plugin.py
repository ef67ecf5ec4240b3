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
- lora_targets: the attention and MLP projections of the language model only. ``all-linear`` (and a plain
  list of names such as ``q_proj``) would also adapt the audio encoder, whose attention has q/k/v projections
  of the same names, and the AltUp/LAuReL/per-layer-embedding projections.
"""

from __future__ import annotations

from tmz.core.hookspecs import hookimpl
from tmz.core.registry import ModelBackend

#: peft ``target_modules`` as a regular expression (peft matches a string with ``re.fullmatch``).
LANGUAGE_MODEL_PROJECTIONS = (
    r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
)


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
    )


@hookimpl
def register_model_backends(register):
    register(backend())
