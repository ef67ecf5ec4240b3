"""Our quantization names and the litert-torch (ai-edge-quantizer) recipes they stand for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tmz.export.errors import ExportError

#: ai-edge-quantizer has no named fp16 recipe: weight-only float16 is its ``float_casting`` algorithm.
FP16_WEIGHT_ONLY = "fp16_weight_only"


@dataclass(frozen=True)
class Recipe:
    """A quantization choice: the recipe for the language model and for the vision encoder/adapter.

    ``None`` keeps float32 weights. The vision encoder has convolutions, which LiteRT's CPU path runs best with
    weight-only int8 (dynamic int8 is litert-torch's default for it and is meant for GPU).
    """

    name: str
    llm: str | None
    vision: str | None
    description: str


QUANTIZATIONS: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe(
            "int8",
            "dynamic_wi8_afp32",
            "weight_only_wi8_afp32",
            "int8 weights (per channel), float activations",
        ),
        Recipe(
            "int4", "dynamic_wi4_afp32", "weight_only_wi8_afp32", "int4 weights (per channel), vision int8"
        ),
        Recipe("fp16", FP16_WEIGHT_ONLY, FP16_WEIGHT_ONLY, "float16 weights, float32 compute"),
        Recipe("fp32", None, None, "float32 weights (no quantization)"),
    )
}


def recipe_for(name: str) -> Recipe:
    """The recipe of a quantization name; ExportError listing the accepted names otherwise."""
    try:
        return QUANTIZATIONS[name]
    except KeyError:
        raise ExportError(f"unknown quantization {name!r}; use one of {', '.join(QUANTIZATIONS)}") from None


def litert_recipe(recipe: str | None, work: Path) -> str:
    """The value litert-torch's ``quantization_recipe`` takes: a recipe name, a JSON recipe file, or "none".

    The fp16 recipe is written as JSON into ``work`` (litert-torch loads ``*.json`` recipes from disk).
    """
    if recipe is None:
        return "none"
    if recipe != FP16_WEIGHT_ONLY:
        return recipe
    from ai_edge_quantizer import algorithm_manager, qtyping, recipe_manager

    manager = recipe_manager.RecipeManager()
    for op in (qtyping.TFLOperationName.FULLY_CONNECTED, qtyping.TFLOperationName.EMBEDDING_LOOKUP):
        manager.add_weight_only_config(
            regex=".*",
            operation_name=op,
            num_bits=16,
            algorithm_key=algorithm_manager.AlgorithmName.FLOAT_CASTING,
        )
    path = work / f"{FP16_WEIGHT_ONLY}.json"
    path.write_text(json.dumps(manager.get_quantization_recipe(), indent=2), encoding="utf-8")
    return str(path)
