"""``bundle()``: an export directory -> a ``.task`` or ``.litertlm`` that describes itself.

The bundle embeds its BundleManifest (languages, dialects, directions, prompt format, settings, the sha256 of
every section it holds and the lineage back to the data); the same manifest, plus the bundle file's own
sha256, is written beside it as ``<file>.tmz-manifest.json``.
"""

from __future__ import annotations

import os
from importlib.metadata import version as dist_version
from pathlib import Path

from litert_lm_builder.runtime.proto import llm_model_type_pb2
from sentencepiece import sentencepiece_model_pb2 as sp_model

from tmz.bundle import litertlmfile, taskfile
from tmz.bundle.errors import BundleError
from tmz.bundle.metadata import (
    SamplerDefaults,
    bundle_llm,
    check_llm,
    check_tokenizer,
    llm_metadata,
    task_parameters,
)
from tmz.bundle.naming import FORMATS, bundle_filename, sidecar_name
from tmz.bundle.sections import content_entry
from tmz.core.atomic import atomic_file, write_bytes_atomic
from tmz.core.errors import ManifestError, TmzError
from tmz.core.kinds.bundle import BundleResults, BundleSettings, LineageEntry, ParityVerdict
from tmz.core.manifest import (
    BundleManifest,
    ExportManifest,
    FileEntry,
    Producer,
    find_parent,
    load_manifest,
    manifest_path,
    parent_ref,
    sha256_file,
)
from tmz.core.plugins import get_registry
from tmz.core.prompt import KNOWN_PROMPT_FORMATS

DISTRIBUTION = "tmz-bundle"
VISION_ROLES = ("embedder", "vision_encoder", "vision_adapter")
#: Models a text export holds beside prefill_decode when litert-torch externalizes the embedder (Gemma 3n, 4).
EMBEDDER_ROLES = ("embedder", "per_layer_embedder")


def min_runtime_version() -> str:
    """The LiteRT-LM runtime (major.minor) bundles are built and verified against."""
    return ".".join(dist_version("litert-lm-api").split(".")[:2])


def lineage(export_dir: Path) -> list[LineageEntry]:
    """The chain of manifests behind an export (export, model, adapter, dataset), newest first.

    Each link has its kind, name, creation time, producer and the manifest's sha256; each parent is found from
    its child's directory with :func:`~tmz.core.manifest.find_parent` and checked by hash, and the chain ends
    before the first one no longer there (or changed since).
    """
    where = Path(export_dir)
    chain: list[LineageEntry] = []
    while True:
        m = load_manifest(where, verify=False)
        producer = f"{m.producer.distribution} {m.producer.version}"
        digest = sha256_file(manifest_path(where))
        chain.append(
            LineageEntry(kind=m.kind, name=m.name, sha256=digest, created=m.created, producer=producer)
        )
        if m.parent is None:
            return chain
        try:
            where = find_parent(m, where)
        except ManifestError:
            return chain


def parity_verdict(
    export_dir: Path, export: ExportManifest, allow_failed: bool, allow_missing: bool
) -> ParityVerdict:
    """The export's parity verdict for the bundle manifest; BundleError when it failed or was not run, unless
    allowed (then it is recorded as allowed)."""
    report = export.results.parity
    if report is None:
        if not allow_missing:
            raise BundleError(
                f"{export_dir}: was exported with parity off (results.parity is null), so nothing shows that "
                "LiteRT-LM answers as the PyTorch model did; export it again with parity on, or pass "
                "--allow-no-parity (allow_no_parity=True) to bundle it anyway, recorded as unchecked"
            )
        return ParityVerdict(passed=None, allowed=True)
    if not report.passed and not allow_failed:
        first = report.first_failure
        detail = f"; first failure: prompt {first.id} ({first.failure})" if first is not None else ""
        raise BundleError(
            f"{export_dir}: its parity check failed ({report.exact} of {report.prompts} prompts exact, "
            f"{report.divergences} divergences, {report.logprob_failures} log-prob failures, max |delta log p| "
            f"{report.max_abs_delta:.3g} for a tolerance of {report.logprob_tolerance:.3g}{detail}): LiteRT-LM "
            "does not answer as the PyTorch model did. Fix the export (docs/parity.md), or pass "
            "--allow-failed-parity (allow_failed_parity=True) to bundle it anyway, recorded as failed"
        )
    fields = set(ParityVerdict.model_fields) - {"allowed"}
    return ParityVerdict(**report.model_dump(include=fields), allowed=not report.passed)


def check_replaceable(target: Path, version: str) -> None:
    """BundleError when ``target`` is a tmz bundle of another version: a release never replaces another's file
    (an app or a cache holding the old catalog would fetch other bytes under the same name)."""
    if not target.exists():
        return
    from tmz.bundle.reader import read_embedded_manifest

    try:
        old = read_embedded_manifest(target).settings.version
    except TmzError:
        old = None
    if old != version:
        held = f"version {old}" if old else "a file that is not a readable tmz bundle"
        raise BundleError(
            f"{target}: already holds {held}; bundling version {version} would replace it under the same "
            "name. Write each release to its own --out folder (or pick another --name), or remove the old file"
        )


def scrub_tokenizer(path: Path) -> bytes:
    """The SentencePiece model's bytes without its training-time paths (``trainer_spec.input``, ``model_prefix``,
    the seed and rule files); unchanged when it names none. Encoding does not read these fields."""
    data = path.read_bytes()
    proto = sp_model.ModelProto.FromString(data)
    spec = proto.trainer_spec
    touched = bool(spec.input or spec.model_prefix or spec.seed_sentencepieces_file)
    touched |= bool(
        proto.normalizer_spec.normalization_rule_tsv or proto.denormalizer_spec.normalization_rule_tsv
    )
    if not touched:
        return data
    del spec.input[:]
    spec.ClearField("model_prefix")
    spec.ClearField("seed_sentencepieces_file")
    proto.normalizer_spec.ClearField("normalization_rule_tsv")
    proto.denormalizer_spec.ClearField("normalization_rule_tsv")
    return proto.SerializeToString()


def _component(export_dir: Path, export: ExportManifest, role: str) -> Path:
    components = export.settings.components.present()
    if role not in components:
        raise BundleError(
            f"{export_dir}: export settings.components has no {role!r} (has {', '.join(sorted(components))}); "
            "re-export the model with tmz export"
        )
    return export_dir / export.file(components[role]).path


def vision_model_type(export_dir: Path, export: ExportManifest) -> llm_model_type_pb2.LlmModelType:
    """A vision export's on-device model type (image tokens, input size), as litert-torch wrote it into its
    own ``.litertlm`` (export component ``litertlm``) from the model's processor."""
    path = _component(export_dir, export, "litertlm")
    header = litertlmfile.read_litertlm(path)
    section = next((s for s in header.sections if s.type == litertlmfile.LLM_METADATA), None)
    if section is not None:
        model_type = litertlmfile.parse_llm_metadata(section.read(path)).llm_model_type
        kind = model_type.WhichOneof("model_type")
        typed = getattr(model_type, kind) if kind else None
        fields = typed.DESCRIPTOR.fields_by_name if typed is not None else {}
        if "start_of_image_token" in fields and typed.HasField("start_of_image_token"):
            return model_type
    raise BundleError(
        f"{path}: litert-torch's bundle names no vision model type (image tokens and size); "
        "re-export the model with its vision encoder"
    )


def bundle(
    export: str | os.PathLike[str],
    fmt: str = "task",
    out: str | os.PathLike[str] = "dist",
    *,
    name: str = "tmz",
    version: str = "0.1.0",
    sampler: SamplerDefaults | None = None,
    allow_failed_parity: bool = False,
    allow_no_parity: bool = False,
) -> BundleManifest:
    """Bundle an export directory as ``fmt`` ("task" or "litertlm") into the directory ``out``.

    ``sampler`` is written into a ``.litertlm`` only (and recorded in its manifest's ``settings.sampler``); a
    ``.task`` has no place for one (``settings.sampler`` is None), so only the default is accepted for it.

    An export whose parity check failed is refused unless ``allow_failed_parity``, one made with parity off
    unless ``allow_no_parity``; the verdict is recorded in ``results.parity`` either way. A bundle file already
    in ``out`` that holds another version is not replaced. Build paths stay out of the bundle: the manifest's
    parent is relative, and the tokenizer's training fields (input files, model prefix) are cleared.

    Returns the bundle's manifest (the one written beside it; its ``files[0].path`` is the bundle file name).
    Raises BundleError when the export cannot make this bundle (a vision model as ``.task``, a missing
    component or LLM setting, a sampler for a ``.task``, parity failed or not run, another version in the
    way) and the core's ManifestError when the export itself is damaged.
    """
    if fmt not in FORMATS:
        raise BundleError(f"bundle format {fmt!r}: expected one of {', '.join(FORMATS)}")
    export_dir = Path(export)
    em: ExportManifest = load_manifest(export_dir, expect_kind="export")
    if em.prompt_format not in KNOWN_PROMPT_FORMATS:
        raise BundleError(
            f"{export_dir}: the export records prompt format {em.prompt_format!r}, which no tmz runtime knows "
            f"({', '.join(sorted(KNOWN_PROMPT_FORMATS))}); its checkpoint had no tmz model manifest saying which "
            "prompt it was trained with. Export a model made by `tmz train merge`, or write its model manifest first"
        )
    backend = get_registry().backend(em.backend)
    if fmt == "task" and backend.vision:
        raise BundleError(
            f"{export_dir}: backend {backend.name!r} takes images; a .task holds text models only, use fmt='litertlm'"
        )
    s = em.settings
    llm = check_llm(s.llm, str(manifest_path(export_dir)), backend.chat_format)
    sampler = sampler or SamplerDefaults()
    if fmt == "task" and sampler != SamplerDefaults():
        raise BundleError(
            f"sampler {sampler.record().model_dump()}: a .task cannot carry sampler defaults (MediaPipe's "
            "LlmParameters has no sampler field; the app sets them); use fmt='litertlm' or the default sampler"
        )
    kv = s.kv_cache_max_len
    if kv <= 0:
        raise BundleError(f"{export_dir}: export settings.kv_cache_max_len is {kv}; re-export the model")
    parity = parity_verdict(export_dir, em, allow_failed_parity, allow_no_parity)
    filename = bundle_filename(backend.name, s.quantization, kv, fmt, name)
    out_dir = Path(out)
    check_replaceable(out_dir / filename, version)
    model, tokenizer = _component(export_dir, em, "prefill_decode"), _component(export_dir, em, "tokenizer")
    check_tokenizer(tokenizer, llm)
    tokenizer_bytes = scrub_tokenizer(tokenizer)

    embedders = {r: _component(export_dir, em, r) for r in EMBEDDER_ROLES if r in s.components.present()}
    if fmt == "task" and embedders:
        raise BundleError(
            f"{export_dir}: the export keeps {' and '.join(embedders)} beside the model (backend {backend.name!r} "
            "externalizes its embedder); a .task holds one model only, use fmt='litertlm'"
        )
    if fmt == "task":
        params = task_parameters(llm, backend.chat_format).SerializeToString()
        payload: list[tuple[str, bytes | Path]] = [
            (taskfile.MODEL, model), (taskfile.TOKENIZER, tokenizer_bytes), (taskfile.METADATA, params)
        ]  # fmt: skip
    else:
        roles = {"prefill_decode": model, **embedders}
        if backend.vision:  # litert-torch writes the embedder separately for some models only
            wanted = [r for r in VISION_ROLES if r != "embedder" or s.components.embedder is not None]
            roles |= {r: _component(export_dir, em, r) for r in wanted}
        model_type = vision_model_type(export_dir, em) if backend.vision else None
        md = llm_metadata(llm, kv, sampler, model_type, backend.chat_format).SerializeToString()
        payload = [(litertlmfile.LLM_METADATA, md), (litertlmfile.TOKENIZER, tokenizer_bytes)]
        payload += [(litertlmfile.MODEL_TYPES[r].value, p) for r, p in roles.items()]

    embedded = BundleManifest(
        name=filename.rsplit(".", 1)[0],
        producer=Producer.of(DISTRIBUTION),
        parent=parent_ref(export_dir, out_dir),
        backend=backend.name,
        format=fmt,
        **em.coverage(),
        settings=BundleSettings(
            file=filename,
            version=version,
            min_runtime_version=min_runtime_version(),
            quantization=s.quantization,
            kv_cache_max_len=kv,
            prefill_lengths=s.prefill_lengths,
            export_task=s.export_task,
            modalities=list(backend.modalities),
            llm=bundle_llm(llm),
            sampler=sampler.record() if fmt == "litertlm" else None,
        ),
        results=BundleResults(
            contents=[content_entry(n, d) for n, d in payload], lineage=lineage(export_dir), parity=parity
        ),
    )
    text = embedded.model_dump_json()
    target = out_dir / filename
    with atomic_file(target) as f:
        if fmt == "task":
            taskfile.write_task(f, [*payload, (taskfile.MANIFEST, text.encode())])
        else:
            litertlmfile.write_litertlm(
                f,
                llm_metadata=md,
                tokenizer=tokenizer_bytes,
                models=roles,
                system_metadata={litertlmfile.MANIFEST_KEY: text},
            )
    beside = embedded.model_copy(update={"files": [FileEntry.of(out_dir, target)]})
    write_bytes_atomic(out_dir / sidecar_name(filename), (beside.model_dump_json(indent=2) + "\n").encode())
    return beside
