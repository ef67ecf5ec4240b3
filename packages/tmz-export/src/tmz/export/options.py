"""The options of an export and their defaults, held once: ``tmz export run``/``verify`` derive their command-line
options from :class:`ExportOptions`, :func:`tmz.export.export` takes its fields as keyword arguments
(``export(model, out, **options.model_dump())``), and a pipeline configuration can embed it."""

from __future__ import annotations

from pydantic import Field

from tmz.core.kinds.base import Record
from tmz.core.kinds.export import Converter, ModelDtype, Quantization
from tmz.export.signatures import PREFILL_LADDER

_LADDER = ", ".join(map(str, PREFILL_LADDER))


class ExportOptions(Record):
    """How to convert a checkpoint and how hard to check it."""

    quantization: Quantization = Field("int8", description="Weight quantization (tmz.export.QUANTIZATIONS).")
    prefill_lengths: list[int] | None = Field(
        None,
        description=f"Prefill signature length (repeat for several; default {_LADDER} up to the KV cache).",
    )
    kv_cache: int = Field(
        1024, ge=1, description="KV cache length: the most tokens (prompt + answer) the model handles."
    )
    model_dtype: ModelDtype = Field(
        "float32",
        description="Dtype litert-torch loads and traces the model in (its model_dtype): float32, or bfloat16 "
        "(half the weight memory; weights rounded to bfloat16 before quantizing; needs converter v2). Not the "
        "runtime's activation dtype.",
    )
    converter: Converter = Field(
        "v1-lightweight",
        description="litert-torch's converter: v1-lightweight (the default; its experimental_lightweight_conversion: "
        "weights as lazy resources, constants folded at runtime; the 1B converts in 8.4 GiB instead of 13.6), v1 "
        "(inlines every weight), v2 "
        "(use_v2: MLIR bytecode plus a params file) or v2-streaming (use_v2 with delete_in_memory_params: "
        "weights streamed from the checkpoint, never all in memory). v2 converts text models only and needs a "
        "TensorFlow with convert_mlir_bytecode (tf-nightly).",
    )
    isolate: bool = Field(
        True,
        description="Convert in a child process, which gives back the memory litert-torch keeps (6.2 GiB after "
        "the 1B) before the parity check loads the checkpoint; off: convert in this process.",
    )
    parity: bool = Field(True, description="Run the parity check after converting.")
    parity_prompts: int = Field(8, ge=1, description="How many prompts to compare.")
    max_new_tokens: int = Field(32, ge=1, description="Greedy tokens generated per prompt.")


#: Where the keyword defaults of ``export()`` and ``verify()`` come from.
DEFAULTS = ExportOptions()
#: The fields that only concern the conversion (``tmz export verify`` takes the others).
CONVERSION_FIELDS = (
    "quantization", "prefill_lengths", "kv_cache", "model_dtype", "converter", "isolate", "parity",
)  # fmt: skip
