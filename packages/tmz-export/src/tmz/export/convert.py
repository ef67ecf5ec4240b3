"""The conversion itself: litert-torch's ``generative.export_hf`` export tasks, assembled as its ``export()`` does,
plus three of ours (the backend's ``prepare_export`` repairs, the SentencePiece tokenizer from the checkpoint, and
the normalising vision encoder)."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

from litert_torch._convert import converter_v2
from litert_torch.generative.export_hf import export as litert_export
from litert_torch.generative.export_hf import export_utils
from litert_torch.generative.export_hf.core import export_lib, exportable_module, litert_lm_builder

from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.export import Components
from tmz.core.registry import ModelBackend
from tmz.export.checkpoint import TOKENIZER_FILE, Checkpoint
from tmz.export.errors import ExportError
from tmz.export.recipes import Recipe, litert_recipe
from tmz.export.vision import normalising

#: Component roles (docs/contracts.md, export) -> the litert-torch artifact field that holds the file.
ROLES = {
    "prefill_decode": "prefill_decode_model_path",
    "embedder": "embedder_model_path",
    "vision_encoder": "vision_encoder_model_path",
    "vision_adapter": "vision_adapter_model_path",
    "tokenizer": "tokenizer_model_path",
    "litertlm": "litert_lm_model_path",
}
#: litert-torch's export settings for each of our converter names (tmz.export.options.ExportOptions.converter).
CONVERTER_SETTINGS: dict[str, dict[str, bool]] = {
    "v1": {},
    "v1-lightweight": {"experimental_lightweight_conversion": True},
    "v2": {"use_v2": True},
    "v2-streaming": {"use_v2": True, "delete_in_memory_params": True},
}
#: Metadata litert-torch writes beside the models and packs into its .litertlm (kept for the bundler).
METADATA_FILES = {"llm_metadata": "llm_metadata.pb", "executor_metadata": "executor_metadata.pb"}


def _version(dist: str) -> str:
    try:
        return _dist_version(dist)
    except PackageNotFoundError:
        return "(not installed)"


def sentencepiece_tokenizer_task(ckpt: Checkpoint):
    """Export task: copy the checkpoint's SentencePiece model (the one the checks verified).

    litert-torch's own task opens ``tokenizer.vocab_file``, which is a name relative to the checkpoint.
    """

    def export_tokenizer(_source, config, exported):
        path = Path(config.work_dir) / TOKENIZER_FILE
        shutil.copyfile(ckpt.tokenizer_file, path)
        return dataclasses.replace(exported, tokenizer_model_path=str(path))

    return export_tokenizer


def prepare_task(prepare: Callable[[Any], None]):
    """Export task: the backend's ``prepare_export`` on the model litert-torch loaded, before any conversion."""

    def prepare_model(source, _config, exported):
        prepare(source.model)
        return exported

    return prepare_model


def normalising_vision_task(normalisation: ImageNormalisation):
    """Export task: litert-torch's vision encoder/adapter export with the training normalisation inside."""

    def export_vision(source, config, exported):
        with normalising(source.model, normalisation):
            return export_lib.export_vision_encoder_models(source, config, exported)

    return export_vision


def module_config(backend: ModelBackend, **settings: Any) -> exportable_module.ExportableModuleConfig:
    """litert-torch's export configuration: ``settings``, the backend's task and its own ``export_options``
    (e.g. a plugin's ``externalize_embedder=True``), validated as litert-torch validates it."""
    try:
        config = exportable_module.ExportableModuleConfig(
            task=backend.export_task, **{**settings, **dict(backend.export_options)}
        )
    except TypeError as e:
        raise ExportError(
            f"backend {backend.name!r}: its export_options {dict(backend.export_options)} are not litert-torch "
            f"export settings ({e}); fix the plugin that registers it"
        ) from e
    except ValueError as e:  # litert-torch refuses the combination (e.g. use_v2 for an image task)
        raise ExportError(
            f"backend {backend.name!r}: litert-torch refuses these export settings with its export_options "
            f"{dict(backend.export_options)}: {e}"
        ) from e
    export_utils.validate_pipeline_config(config)
    return config


def convert(
    ckpt: Checkpoint,
    work: Path,
    recipe: Recipe,
    prefill_lengths: list[int],
    kv_cache_max_len: int,
    vision: bool,
    normalisation: ImageNormalisation | None,
    *,
    model_dtype: str,
    converter: str,
) -> Components:
    """Convert ``ckpt`` into ``work`` with litert-torch's ``converter`` (:data:`CONVERTER_SETTINGS`), the model
    loaded in ``model_dtype``; returns the component files by role (relative to ``work``).

    Float intermediates that a quantized file replaces (and Converter V2's intermediates) are removed.
    """
    if converter.startswith("v2") and not converter_v2.is_supported():
        raise ExportError(
            f"converter {converter!r} needs litert-torch's Converter V2, which needs a TensorFlow with "
            "tensorflow.lite.python.convert.convert_mlir_bytecode (tf-nightly; tensorflow-cpu "
            f"{_version('tensorflow-cpu')} has none); use converter v1 or v1-lightweight"
        )
    config = module_config(
        ckpt.backend,
        model=str(ckpt.path),
        output_dir=str(work),
        work_dir=str(work),
        keep_temporary_files=True,
        prefill_lengths=list(prefill_lengths),
        cache_length=kv_cache_max_len,
        quantization_recipe=litert_recipe(recipe.llm, work),
        vision_encoder_quantization_recipe=litert_recipe(recipe.vision, work),
        export_vision_encoder=vision,
        bundle_litert_lm=True,
        model_dtype=model_dtype,
        **CONVERTER_SETTINGS[converter],
    )
    tasks = [prepare_task(ckpt.backend.prepare_export)] if ckpt.backend.prepare_export else []
    tasks += [export_lib.export_embedder_model] if config.externalize_embedder else []
    tasks += [export_lib.export_text_prefill_decode_model, export_lib.export_additional_models]
    if config.export_vision_encoder:
        if normalisation is None:
            raise ExportError(
                f"{ckpt.path}: exporting the vision encoder needs the image normalisation it was trained with"
            )
        tasks.append(normalising_vision_task(normalisation))
    tasks += [sentencepiece_tokenizer_task(ckpt), litert_lm_builder.package_model]
    artifacts = litert_export.run_export_tasks(tasks, config)

    components: dict[str, str] = {}
    for role, field in ROLES.items():
        value = getattr(artifacts, field)
        if value:
            components[role] = Path(value).relative_to(work).as_posix()
    for role, value in (artifacts.additional_model_paths or {}).items():  # e.g. per_layer_embedder
        if role not in Components.model_fields:
            raise ExportError(f"{ckpt.path}: litert-torch wrote a {role!r} model, which tmz cannot bundle")
        components[role] = Path(value).relative_to(work).as_posix()
    for role, name in METADATA_FILES.items():
        if (work / name).is_file():
            components[role] = name
    missing = [role for role in ("prefill_decode", "tokenizer") if role not in components]
    if missing:
        raise ExportError(
            f"{ckpt.path}: litert-torch wrote no {' or '.join(missing)} file; see its log above"
        )
    keep = set(components.values())
    for leftover in work.iterdir():
        if leftover.is_file() and leftover.name not in keep:
            leftover.unlink()
        elif leftover.is_dir() and leftover.name.endswith("_intermediates"):  # V2's bytecode and params
            shutil.rmtree(leftover)
    return Components(**components)
