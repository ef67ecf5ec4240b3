"""Cards in the Hugging Face Hub's format (README.md: YAML front matter, Markdown body), made from manifests.

Everything a card says comes from the artifact's manifest and those of its lineage: languages (ISO 639-3, with
scripts in ``language_details``), the license that wins among the sources' (:mod:`tmz.core.kinds.license`), the
base model, the training settings, the data, the scores per direction (also as ``model-index``), parity, sizes.
Local paths are never written: files are named by their name and sha256.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import DatasetCardData, EvalResult, ModelCardData

from tmz.core.chat_format import GEMMA3
from tmz.core.dataset import SPLITS, UNKNOWN_LANGUAGE, split_path
from tmz.core.kinds.license import LicenseTerm, expression, notices, strictest
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, instruction
from tmz.core.registry import Direction
from tmz.core.scoring import Evaluation, format_report
from tmz.core.units import human_size
from tmz.publish.artifact import Artifact

RepoType = Literal["model", "dataset"]
#: Link kinds ``--link`` accepts: the Hub repositories the lineage's artifacts were published to.
LINKS = ("dataset", "adapter", "model", "export", "base")
UNKNOWN_LICENSE = "unknown"
SAMPLE_TEXT = "Where is the hospital?"
_PIPELINE = {"text": "text-generation", "image": "image-text-to-text"}


@dataclass(frozen=True)
class Card:
    """A card's text and what it states (the Hub repository type, the license id, the terms behind it)."""

    text: str
    repo_type: RepoType
    license: str
    terms: list[LicenseTerm]


def make_card(
    artifact: Artifact,
    *,
    evaluation: Evaluation | None = None,
    links: dict[str, str] | None = None,
    name: str | None = None,
) -> Card:
    """The card of ``artifact``; ``evaluation`` (e.g. the pipeline's) replaces the scores the lineage carries,
    ``links`` (kind -> Hub id) names where its dataset, adapter, model or base were published, ``name`` the
    repository (default: the manifest's name)."""
    links = dict(links or {})
    m = artifact.manifest
    title = name or m.name
    terms = artifact.licenses()
    evaluation = evaluation or _lineage_eval(artifact)
    languages, details = language_codes(m.directions)
    meta: dict[str, Any] = {
        **license_fields(terms), "language": languages or None, "language_details": ", ".join(details) or None,
        "tags": _tags(artifact, details),
    }  # fmt: skip
    body = [f"# {title}", "", _summary(artifact), "", *_warning(), ""]
    if m.kind == "dataset":
        data = DatasetCardData(
            **meta, pretty_name=title, task_categories=_tasks(m), multilinguality="translation",
            size_categories=_size_category(m.results.examples.total), configs=[_config(artifact)],
        )  # fmt: skip
        body += _languages_section(m) + _data_section(m, links) + _dataset_use(artifact, links, title)
        repo_type: RepoType = "dataset"
    else:
        base, relation = _base_model(artifact, links)
        model_index = _eval_results(evaluation, artifact, links) if evaluation else None
        data = ModelCardData(
            **meta, base_model=base, datasets=[links["dataset"]] if "dataset" in links else None,
            library_name={"adapter": "peft", "model": "transformers"}.get(m.kind),
            pipeline_tag=_PIPELINE["image" if _vision(artifact) else "text"],
            model_name=title if model_index else None, eval_results=model_index,
            base_model_relation=relation,
        )  # fmt: skip
        body += _languages_section(m) + _details_section(artifact, base)
        body += _training_section(artifact) + _merge_section(artifact) + _export_section(artifact)
        body += _bundle_section(artifact) + _evaluation_section(evaluation) + _parity_section(artifact)
        dataset = artifact.find("dataset")
        if dataset is not None:
            body += _data_section(dataset, links, heading="## Training data")
        body += _model_use(artifact, links, title)
        repo_type = "model"
    body += _intended_use() + _limitations(artifact) + _license_section(artifact, terms) + _lineage(artifact)
    yaml = data.to_yaml()
    text = f"---\n{yaml}\n---\n\n" + "\n".join(body).rstrip() + "\n"
    return Card(text=text, repo_type=repo_type, license=license_fields(terms)["license"], terms=terms)


# -- front matter ---------------------------------------------------------------------------------------------
def iso639_3(code: str) -> str:
    """A registered language's ISO 639-3 code: its own when three letters, else its first three-letter alias."""
    lang = get_registry().languages.get(code)
    if len(code) == 3 or lang is None:
        return code
    return next((a for a in lang.aliases if re.fullmatch(r"[a-z]{3}", a)), code)


def language_codes(directions: list[str]) -> tuple[list[str], list[str]]:
    """The ISO 639-3 codes of the directions' languages, and each with its script (``zgh_Tfng``)."""
    pairs: set[tuple[str, str]] = set()
    for tag in directions:
        d = Direction.parse(tag)
        pairs |= {(d.source, d.source_script), (d.target, d.target_script)}
    details = sorted({f"{iso639_3(lang)}_{script}" for lang, script in pairs if lang != UNKNOWN_LANGUAGE})
    return sorted({d.split("_")[0] for d in details}), details


def license_fields(terms: list[LicenseTerm]) -> dict[str, str]:
    """``license`` (and ``license_name`` when it is ``other``) for the front matter: the license that wins."""
    winners = strictest(terms)
    if not winners:
        return {"license": UNKNOWN_LICENSE}
    if len(winners) == 1 and winners[0].hub_id != "other":
        return {"license": winners[0].hub_id}
    return {"license": "other", "license_name": expression(terms) or ""}


def _tags(artifact: Artifact, details: list[str]) -> list[str]:
    m = artifact.manifest
    tags = ["tmz", "translation"]
    registry = get_registry()
    if any(code in registry.dialects for code in m.languages):
        tags += ["tamazight", "amazigh", "berber"]
    if any(d.endswith("_Tfng") for d in details):
        tags.append("tifinagh")
    tags += list(m.dialects)
    tags += {
        "dataset": ["parallel-corpus"], "adapter": ["lora", "peft"], "model": ["merged"],
        "export": ["litert", "on-device"], "bundle": ["litert", "litert-lm", "mediapipe", "on-device"],
    }[m.kind]  # fmt: skip
    tags += [f"license-{flag.lower()}" for t in artifact.licenses() for flag in t.flags() if " " not in flag]
    return list(dict.fromkeys(tags))


def _vision(artifact: Artifact) -> bool:
    backend = get_registry().backends.get(getattr(artifact.manifest, "backend", ""))
    return backend is not None and "image" in backend.modalities


def _tasks(m: Any) -> list[str]:
    images = any(s.layout == "image" for s in m.settings.sources) or any(
        tag.startswith(f"{UNKNOWN_LANGUAGE}_") for tag in m.directions
    )
    return ["translation", "image-to-text"] if images else ["translation"]


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "1M<n<10M" if n < 10_000_000 else "n>10M"


def _config(artifact: Artifact) -> dict[str, Any]:
    """The Hub's data files: the JSON lines of each split that holds examples."""
    splits = artifact.manifest.results.splits
    files = [{"split": s, "path": split_path(Path("."), s).as_posix()} for s in SPLITS
             if s in splits and splits[s].examples and split_path(artifact.root, s).is_file()]  # fmt: skip
    return {"config_name": "default", "data_files": files}


def _base_model(artifact: Artifact, links: dict[str, str]) -> tuple[str | None, str | None]:
    """The Hub id the artifact derives from, and how (adapter, finetune, quantized); None when local only."""
    kind = artifact.kind
    if kind in ("export", "bundle") and "model" in links:
        return links["model"], "quantized"
    hub = links.get("base") or _hub_base(artifact)
    relation = {"adapter": "adapter", "model": "finetune"}.get(kind)
    return (hub, relation) if hub else (None, None)


def _hub_base(artifact: Artifact) -> str | None:
    adapter, model = artifact.find("adapter"), artifact.find("model")
    ref = adapter.settings.base if adapter is not None else None
    if ref is None and model is not None and model.settings.merged is not None:
        ref = model.settings.merged.base
    return ref.source if ref is not None and not ref.local else None


def _lineage_eval(artifact: Artifact) -> Evaluation | None:
    for link in artifact.lineage:
        if link.manifest.kind in ("adapter", "model") and link.manifest.results.eval is not None:
            return link.manifest.results.eval
    return None


def _eval_results(evaluation: Evaluation, artifact: Artifact, links: dict[str, str]) -> list[EvalResult]:
    dataset = artifact.find("dataset")
    dataset_name = dataset.name if dataset is not None else "tmz dataset"
    results = []
    for tag, s in evaluation.by_direction.items():
        for metric, label, value in (("chrf", "chrF++", s.chrf), ("bleu", "BLEU", s.bleu),
                                     ("exact_match", "exact match", s.exact)):  # fmt: skip
            results.append(EvalResult(
                task_type="translation", task_name=f"Translation {tag}", dataset_type=links.get("dataset", dataset_name),
                dataset_name=f"{dataset_name} ({evaluation.split} split)", dataset_config=tag,
                dataset_split=evaluation.split, metric_type=metric, metric_name=label, metric_value=round(value, 4),
            ))  # fmt: skip
    return results


# -- body -----------------------------------------------------------------------------------------------------
_WHAT = {
    "dataset": "a parallel translation dataset (chat format, tmz-v1 prompts)",
    "adapter": "a LoRA adapter",
    "model": "a fine-tuned checkpoint (the LoRA adapter merged into its base)",
    "export": "a LiteRT export (the fine-tuned model converted for on-device inference)",
    "bundle": "an on-device bundle",
}


def _summary(artifact: Artifact) -> str:
    m = artifact.manifest
    what = _WHAT[m.kind]
    if m.kind == "bundle":
        what = f"an on-device bundle (`.{m.format}`, {'MediaPipe LlmInference' if m.format == 'task' else 'LiteRT-LM'})"
    made = f"{m.producer.distribution} {m.producer.version}"
    return (f"This is {what} made by tmz ({made}) for translation between "
            f"{_language_names(m.languages)}: {len(m.directions)} direction(s), prompt format `{m.prompt_format}`.")  # fmt: skip


def _language_names(codes: list[str]) -> str:
    registry = get_registry()
    names = [registry.languages[c].name if c in registry.languages else c for c in codes]
    return ", ".join(names) or "no language"


def _warning() -> list[str]:
    return ["> **Not validated by native speakers.** Its translations have not been reviewed by speakers of the",
            "> languages. In an emergency, use it only to get a first understanding and confirm with a person who "
            "speaks the language."]  # fmt: skip


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines + [""]


def _languages_section(m: Any) -> list[str]:
    rows = []
    for tag in m.directions:
        d = Direction.parse(tag)
        source = "image" if d.source == UNKNOWN_LANGUAGE else f"{iso639_3(d.source)} ({d.source_script})"
        rows.append((f"`{tag}`", source, f"{iso639_3(d.target)} ({d.target_script})"))
    lines = ["## Languages and directions", ""]
    lines += _table(("direction", "from", "to"), rows)
    if m.dialects:
        lines += [f"Tamazight varieties: {', '.join(m.dialects)}. Scripts: {', '.join(m.scripts)}.", ""]
    return lines


def _details_section(artifact: Artifact, base: str | None) -> list[str]:
    m = artifact.manifest
    backend = get_registry().backends.get(m.backend)
    rows = [
        (
            "backend",
            f"`{m.backend}`" + (f" ({backend.description})" if backend and backend.description else ""),
        )
    ]
    if backend is not None:
        rows.append(("architecture", backend.architecture))
        rows.append(("modalities", ", ".join(backend.modalities)))
    rows.append(
        ("base model", f"[`{base}`](https://huggingface.co/{base})" if base else _local_base(artifact))
    )
    rows.append(("files", f"{len(m.files)}, {human_size(sum(f.size for f in m.files))}"))
    return ["## Model details", "", *_table(("", ""), rows)]


def _local_base(artifact: Artifact) -> str:
    model = artifact.find("model")
    backend = get_registry().backends.get(getattr(artifact.manifest, "backend", ""))
    if (model is not None and model.settings.tiny is not None) or (backend is not None and backend.local):
        return "a tiny random Gemma 3 built by `tmz train init-tiny` (tests and demos only)"
    adapter = artifact.find("adapter")
    if adapter is not None:
        return f"a local checkpoint (`{Path(adapter.settings.base.source).name}`)"
    return "not recorded"


def _training_section(artifact: Artifact) -> list[str]:
    a = artifact.find("adapter")
    if a is None:
        return []
    s, r = a.settings, a.results
    rows = [
        ("LoRA", f"r={s.lora.r}, alpha={s.lora.alpha}, dropout={s.lora.dropout}, bias={s.lora.bias}"),
        ("target modules", s.lora.target_modules if isinstance(s.lora.target_modules, str)
         else ", ".join(s.lora.target_modules)),
        ("hardware", f"{s.hardware.device}, base weights {s.hardware.quantization}, {s.hardware.precision}, "
                     f"optimizer {s.hardware.optim}, {s.world_size} process(es)"),
        ("rows", f"{s.train_rows} train, {s.eval_rows} eval; varieties {s.dialect_mode}"),
        ("steps", f"{r.global_step}, final training loss {r.train_loss:.4f}"),
    ]  # fmt: skip
    if r.learned is not None:
        reached = f"reached at step {r.learned.step}" if r.learned.reached else "not reached"
        rows.append(("trained until learned", f"margin {r.learned.margin:g} nats, {reached}"))
    if r.recall is not None:
        rows.append(("exact recall", f"{r.recall.exact} of {r.recall.rows} {r.recall.split} rows"))
    settings = [(f"`{section}.{key}`", f"`{value}`") for section, values in sorted(s.config.items())
                if isinstance(values, dict) for key, value in sorted(values.items())]  # fmt: skip
    lines = ["## Training", "", f"Adapter `{a.name}`, fine-tuned with tmz-train (TRL SFT, peft LoRA).", ""]
    lines += _table(("", ""), rows)
    if settings:
        lines += ["<details><summary>Every training setting</summary>", "", *_table(("setting", "value"), settings),
                  "</details>", ""]  # fmt: skip
    return lines


def _merge_section(artifact: Artifact) -> list[str]:
    model = artifact.find("model")
    if model is None or model.settings.merged is None:
        return []
    mg = model.settings.merged
    v = mg.vocab
    rows = [("dtype", mg.dtype),
            ("vocabulary", f"{v.embedding_rows} embedding rows -> {v.vocab_size} (on device)"
                           f"{', resized' if v.resized else ''}; tokenizer {v.tokenizer_size}")]  # fmt: skip
    checks = model.results.model_dump(mode="json", exclude={"eval"}, exclude_none=True)
    lines = [
        "## Merge",
        "",
        "The adapter was merged into its base (`W + B·A·alpha/r`).",
        "",
        *_table(("", ""), rows),
    ]
    if checks:
        lines += ["### Merge fidelity", "", *_table(("check", "result"), list(_flatten(checks)))]
    return lines


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    return [(f"`{prefix}`", f"`{value}`")]


def _export_section(artifact: Artifact) -> list[str]:
    e = artifact.find("export")
    if e is None:
        return []
    s = e.settings
    rows = [("quantization", f"{s.quantization} (recipe {s.recipes.llm or 'none'})"),
            ("prefill lengths", ", ".join(map(str, s.prefill_lengths))), ("KV cache", f"{s.kv_cache_max_len} tokens"),
            ("task", s.export_task), ("vision encoder", "yes" if s.vision else "no"),
            ("converter", f"litert-torch {s.litert_torch}"),
            ("conversion", f"{e.results.export.seconds:.0f} s, peak memory {e.results.export.peak_rss_mb:.0f} MB")]  # fmt: skip
    return ["## Export", "", *_table(("", ""), rows)]


def _bundle_section(artifact: Artifact) -> list[str]:
    m = artifact.manifest
    if m.kind != "bundle":
        return []
    s = m.settings
    rows = [("file", f"`{s.file}`, {human_size(m.files[0].size)}"), ("format", m.format), ("version", s.version),
            ("runtime", f"LiteRT-LM {s.min_runtime_version}+"), ("modalities", ", ".join(s.modalities)),
            ("stop tokens", ", ".join(f"`{t}`" for t in s.llm.stop_tokens))]  # fmt: skip
    if s.sampler is not None:
        rows.append(("sampler", f"{s.sampler.type}, top_k {s.sampler.top_k}, top_p {s.sampler.top_p}, "
                                f"temperature {s.sampler.temperature}"))  # fmt: skip
    sections = [(f"`{c.name}`", human_size(c.size), f"`{c.sha256[:12]}`") for c in m.results.contents]
    return ["## Bundle", "", *_table(("", ""), rows), "### Sections and sizes", "",
            *_table(("section", "size", "sha256"), sections)]  # fmt: skip


def _evaluation_section(evaluation: Evaluation | None) -> list[str]:
    lines = ["## Evaluation", ""]
    if evaluation is None:
        return lines + ["No evaluation is recorded for it (`tmz train eval MODEL DATA` scores one).", ""]
    rows = [(label, s.rows, f"{s.chrf:.1f}", f"{s.bleu:.1f}", f"{s.exact:.2f}", "" if s.cer is None else f"{s.cer:.3f}")
            for label, s in format_report(evaluation)]  # fmt: skip
    lines += [f"Scores on the `{evaluation.split}` split (PyTorch, greedy): chrF++ and BLEU (sacrebleu, 0-100), "
              "exact match share, character error rate of image rows; per direction, target script, variety and "
              "modality.", ""]  # fmt: skip
    return lines + _table(("group", "rows", "chrF++", "BLEU", "exact", "CER"), rows)


def _parity_section(artifact: Artifact) -> list[str]:
    e = artifact.find("export")
    if e is None:
        return []
    p = e.results.parity
    lines = ["## Parity (on-device vs PyTorch)", ""]
    if p is None:
        return lines + ["The export was made with the parity check off: nothing was compared.", ""]
    rows = [("verdict", "passed" if p.passed else "FAILED"), ("prompts", p.prompts),
            ("identical answers", p.exact), ("near-ties", p.ties), ("divergences", p.divergences),
            ("max / mean abs delta log p", f"{p.max_abs_delta:.4f} / {p.mean_abs_delta:.4f}"),
            ("tolerances", f"{p.logprob_tolerance} / {p.mean_tolerance} ({p.tolerance_source})"),
            ("engines", ", ".join(f"{k} {v}" for k, v in sorted(p.engine.items())))]  # fmt: skip
    text = "Greedy answers of the exported model in LiteRT-LM compared with its PyTorch checkpoint, token by token."
    return lines + [text, "", *_table(("", ""), rows)]


def _data_section(d: Any, links: dict[str, str], heading: str = "## Data") -> list[str]:
    r = d.results
    ex = r.examples
    lines = [heading, ""]
    where = (
        f" ([`{links['dataset']}`](https://huggingface.co/datasets/{links['dataset']}))"
        if "dataset" in links
        else ""
    )
    if d.settings.memorised:
        lines += [
            f"Dataset `{d.name}`{where}: a fixed set of pairs written by `tmz train memorise` (tests).",
            "",
        ]
    else:
        lines += [f"Dataset `{d.name}`{where}: {r.rows.read} rows read, {r.rows.accepted} accepted, "
                  f"{r.rows.rejected} rejected; {ex.total} examples ({ex.derived} transliterated twins).", ""]  # fmt: skip
    splits = sorted({t for s in r.splits.values() for t in s.by_direction})
    names = [n for n in SPLITS if n in r.splits]
    rows = [(f"`{t}`", *(r.splits[n].by_direction.get(t, 0) for n in names)) for t in splits]
    rows.append(("groups (meanings)", *(r.splits[n].groups for n in names)))
    lines += _table(("direction", *names), rows)
    for title, counts in (("Varieties", ex.by_dialect), ("Scripts", ex.by_script), ("Domains", ex.by_domain)):
        if counts:
            lines += [f"{title}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".", ""]
    if r.rows.rejected_by_reason:
        lines += ["Rejected rows by reason: " + ", ".join(f"{k} {v}" for k, v in r.rows.rejected_by_reason.items())
                  + ".", ""]  # fmt: skip
    sources = [(f"`{Path(f.path).name}`", f.language or "", s.layout, s.rows, f"`{f.sha256[:12]}`")
               for s in d.settings.sources for f in s.files]  # fmt: skip
    if sources:
        lines += ["Sources:", "", *_table(("file", "language", "layout", "rows", "sha256"), sources)]
    licensed = {t.source for t in d.licenses}
    unlicensed = sorted({_source_label(s) for s in d.settings.sources} - licensed)
    terms = [
        (f"`{Path(t.source).name}`", t.spdx, t.attribution or "", Path(t.found_in).name) for t in d.licenses
    ]
    lines += _table(("source", "license", "attribution", "stated in"), terms)
    if unlicensed:
        lines += [
            "No license is recorded for: " + ", ".join(f"`{Path(u).name}`" for u in unlicensed) + ".",
            "",
        ]
    return lines


def _source_label(s: Any) -> str:
    first = Path(s.files[0].path)
    return str(first) if len(s.files) == 1 and s.files[0].language is None else str(first.parent)


def _sample_prompt(m: Any) -> tuple[Direction, str] | None:
    registry = get_registry()
    for tag in m.directions:
        d = Direction.parse(tag)
        if d.source == UNKNOWN_LANGUAGE:
            continue
        dialect = lambda code: code if code in registry.dialects else None  # noqa: E731
        src = Side(d.source, d.source_script, dialect(d.source))
        tgt = Side(d.target, d.target_script, dialect(d.target))
        return d, instruction(registry, src, tgt, SAMPLE_TEXT)
    return None


def _dataset_use(artifact: Artifact, links: dict[str, str], title: str) -> list[str]:
    repo = links.get("dataset", f"ORG/{title}")
    return ["## How to use", "", "```bash", f"tmz data stats {artifact.path.name}",
            f"tmz train run {artifact.path.name} --backend gemma3-1b-text --out work/adapter", "```", "",
            "```python", "from datasets import load_dataset", "", f'rows = load_dataset("{repo}", split="train")',
            "```", ""]  # fmt: skip


def _model_use(artifact: Artifact, links: dict[str, str], title: str) -> list[str]:
    m = artifact.manifest
    sample = _sample_prompt(m)
    d, text = sample if sample else (None, SAMPLE_TEXT)
    src, tgt = (d.source, f"{d.target}_{d.target_script}") if d else ("en", "zgh_Tfng")
    lines = ["## How to use", ""]
    if m.kind == "adapter":
        lines += ["```bash", f"tmz train merge {artifact.path.name} --out work/model", "```", ""]
    elif m.kind == "model":
        backend = get_registry().backends.get(m.backend)
        chat = backend.chat_format if backend else GEMMA3
        lines += ["```bash", f"tmz train eval {artifact.path.name} work/data --split test",
                  f"tmz export run {artifact.path.name} --out work/export --quantization int8", "```", "",
                  "The prompt is the tmz-v1 user turn (the model answers with the translation only):", "",
                  "```text", chat.prompt(text), "```", ""]  # fmt: skip
    elif m.kind == "export":
        lines += ["```bash", f"tmz bundle make {artifact.path.name} --format litertlm --out dist", "```", ""]
    else:
        file = m.settings.file
        llm = m.settings.llm
        prompt = f"{llm.prompt_prefix}{text}{llm.prompt_suffix}"
        lines += ["With tmz (LiteRT-LM on this machine):", "", "```bash",
                  f'tmz translate -b {file} --from {src} --to {tgt} "{SAMPLE_TEXT}"', "```", "",
                  "On Android, the prompt is the tmz-v1 turn below (stop at "
                  + ", ".join(f"`{t}`" for t in llm.stop_tokens) + "):", "", "```text", prompt, "```", ""]  # fmt: skip
        if m.format == "task":
            lines += ["MediaPipe LlmInference (`com.google.mediapipe:tasks-genai`):", "", "```kotlin",
                      "val options = LlmInference.LlmInferenceOptions.builder()",
                      f'    .setModelPath("/data/local/tmp/llm/{file}")',
                      f"    .setMaxTokens({m.settings.kv_cache_max_len})", "    .build()",
                      "val llm = LlmInference.createFromOptions(context, options)",
                      "val translation = llm.generateResponse(prompt)", "```", ""]  # fmt: skip
        else:
            lines += ["LiteRT-LM (`com.google.ai.edge.litertlm`):", "", "```kotlin",
                      f'val engine = Engine(EngineConfig(modelPath = "/data/local/tmp/llm/{file}"))',
                      "engine.initialize()", "val conversation = engine.createConversation()",
                      "val translation = conversation.sendMessage(Message.of(prompt))", "```", ""]  # fmt: skip
    return lines


def _intended_use() -> list[str]:
    return ["## Intended use", "",
            "Offline translation on phones where no interpreter is at hand: emergency services, government "
            "offices and daily life, between the languages above. It runs on the device; nothing leaves it.", ""]  # fmt: skip


def _limitations(artifact: Artifact) -> list[str]:
    lines = ["## Limitations", "",
             "- **Not validated by native speakers**: no speaker of the languages has reviewed its output.",
             "- **Emergency use**: a wrong translation can cost time or harm; confirm anything that matters (symptoms, "
             "medication, places, legal terms) with a person who speaks the language, and prefer the phrasebook's "
             "reviewed phrases where they exist.",
             "- Trained on little data: expect errors on long or unusual sentences, names and numbers, and on "
             "varieties and scripts the data does not cover (see the data section).",
             "- The base model's own terms of use apply besides the license below."]  # fmt: skip
    if artifact.kind == "dataset":
        lines[2:] = ["- **Not validated by native speakers**: no speaker of the languages has reviewed these texts.",
                     "- **Emergency use**: a model trained on it can still be wrong; confirm anything that matters "
                     "with a person who speaks the language.",
                     "- Few rows and domains: it covers only the varieties, scripts and domains counted above."]  # fmt: skip
    if artifact.broken:
        lines.append("- Part of its lineage could not be read when this card was written, so the card may be "
                     "incomplete.")  # fmt: skip
    return lines + [""]


def _license_section(artifact: Artifact, terms: list[LicenseTerm]) -> list[str]:
    lines = ["## License", ""]
    if not terms:
        return lines + ["No license is recorded for its sources: find out before sharing it "
                        "(`tmz data prepare --license SPDX-ID`).", ""]  # fmt: skip
    winner = expression(terms)
    lines += [f"**{winner}**: of the licenses of its sources, the strictest wins.", ""]
    for t in terms:
        known = t.terms
        name = f"[{t.spdx}]({known.url})" if known else t.spdx
        credit = f" Attribution: {t.attribution}." if t.attribution else ""
        lines.append(f"- `{Path(t.source).name}`: {name}.{credit}")
    lines += [""] + [f"- {n}." for n in _plain_notices(terms)]
    return lines + [""]


def _plain_notices(terms: list[LicenseTerm]) -> list[str]:
    """The binding terms in words, sources named by file name only."""
    return notices(t.model_copy(update={"source": Path(t.source).name}) for t in terms)


def _lineage(artifact: Artifact) -> list[str]:
    rows = [(link.manifest.kind, f"`{link.manifest.name}`", f"{link.manifest.producer.distribution} "
             f"{link.manifest.producer.version}", link.manifest.created.date().isoformat())
            for link in artifact.lineage]  # fmt: skip
    return ["## Lineage", "", "The tmz manifests this card was made from (`tmz-manifest.json`, each parent checked by "
            "hash):", "", *_table(("kind", "name", "made by", "created"), rows)]  # fmt: skip
