"""Hook implementation: the ``gemma4-e2b-text`` backend and its tiny local twin ``tiny-gemma4``.

Where each fact comes from (transformers 5.23, TRL and litert-torch 0.10 as installed; the tests re-check them; the
hub is not reachable here, so the E2B checkpoint's own config.json was not read):

- architecture: ``Gemma4ForConditionalGeneration``, what transformers maps model type ``gemma4`` to for
  ``AutoModelForCausalLM``. litert-torch picks its Gemma 4 exportables, per-layer embedder and LiteRT-LM
  metadata (``model_ext/exportables.py``, ``model_ext/metadata_builder.py``) only for model type ``gemma4``:
  a text-only ``Gemma4ForCausalLM`` (``gemma4_text``) would take the generic path, without per-layer inputs.
- vocab_size: 262,144, ``Gemma4TextConfig``'s default.
- export_options: litert-torch asserts ``externalize_embedder`` for a Gemma 4 with per-layer inputs
  ("External embedder is required for Gemma4."), so the backend declares it.
- model_type: ``gemma4``, the LiteRT-LM ``LlmModelType`` litert-torch writes.
- chat format: turns ``<|turn>user\\n ... <turn|>\\n<|turn>model\\n``; generation ends at ``<turn|>``. The
  checkpoint's own chat template as TRL ships it (``trl/chat_templates/gemma4_v2.jinja``, google/gemma-4-E2B-it at
  its release revision 4742fe8, and ``gemma4_v5.jinja``, the current 8995379) renders tmz's conversations exactly
  so (it also has a ``system`` turn and thinking, which tmz does not use); transformers' Gemma 4 response parser
  (``cli/serving/utils.py``: start anchor ``<|turn>model\\n``, content closed by ``<turn|>``, ``<|tool_response>``
  or ``<eos>``) and its GGUF loader (Gemma 4's end-of-generation ids
  ``<eos>`` 1, ``<|tool_response>`` 50, ``<turn|>`` 106). Translation uses no tools, so the stop tokens are
  ``<eos>`` and ``<turn|>``. The image token (``<|image|>``) is unused: the backend is text only.
- lora_targets: the language model's attention and MLP projections (as for Gemma 3n). ``all-linear`` would
  also adapt the per-layer-input gates/projections and, in the full checkpoint, the vision and audio towers,
  whose projections are ``Gemma4ClippableLinear`` wrappers around an inner ``linear``. KV-shared layers have no
  k/v projections (they read an earlier layer's cache), so fewer modules match there.
"""

from __future__ import annotations

from tmz.core.chat_format import ChatFormat
from tmz.core.hookspecs import hookimpl
from tmz.core.registry import ModelBackend

GEMMA4 = ChatFormat(name="gemma4", turn_start="<|turn>", turn_end="<turn|>", stop_tokens=("<eos>", "<turn|>"),
                    image_token="<|image|>")  # fmt: skip

#: peft ``target_modules`` as a regular expression (peft matches a string with ``re.fullmatch``).
LANGUAGE_MODEL_PROJECTIONS = (
    r"model\.language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
)

_COMMON = dict(
    architecture="Gemma4ForConditionalGeneration", modalities=("text",), auto_class="AutoModelForCausalLM",
    lora_targets=LANGUAGE_MODEL_PROJECTIONS, export_task="text_generation", model_type="gemma4",
    export_options={"externalize_embedder": True}, chat_format=GEMMA4,
)  # fmt: skip


def _build_tiny(out, **kwargs):
    from tmz_backend_gemma4.tiny import build

    return build(out, **kwargs)


def backends() -> list[ModelBackend]:
    from tmz_backend_gemma4.tiny import VOCAB_SIZE

    return [
        ModelBackend(
            name="gemma4-e2b-text",
            model_id="google/gemma-4-E2B-it",
            vocab_size=262144,
            description="Gemma 4 E2B instruction-tuned (effective 2B parameters), used for text translation",
            **_COMMON,
        ),  # fmt: skip
        ModelBackend(
            name="tiny-gemma4",
            model_id="local:tiny-gemma4-text",
            vocab_size=VOCAB_SIZE,
            local=True,
            description="tiny random Gemma 4 E2B-like model built offline (tests)",
            build_tiny=_build_tiny,
            **_COMMON,
        ),  # fmt: skip
    ]


@hookimpl
def register_model_backends(register):
    for backend in backends():
        register(backend)
