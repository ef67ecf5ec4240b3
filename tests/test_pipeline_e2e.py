"""End to end through the real stages: prepare -> finetune -> evaluate -> merge -> export -> bundle -> translate.

The tiny models learn a few phrases written here (not the shared corpus) until every answer token leads its
runner-up by MARGIN logits (so no answer rests on a near-tie another CPU's kernels could flip); the answers must
then come back identical from PyTorch, from the `.task` and from the `.litertlm` running in LiteRT-LM, compared
as token ids.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from rich.console import Console

from tmz.bundle import read_embedded_manifest
from tmz.core.manifest import (
    MANIFEST_NAME,
    AdapterManifest,
    BundleManifest,
    DatasetManifest,
    find_parent,
    load_manifest,
    manifest_hash,
    sha256_file,
)
from tmz.pipeline.config import (
    BundleSection,
    DataSection,
    EvalSection,
    ExportSection,
    PipelineConfig,
    PipelineSection,
    TrainSection,
    TranslateSection,
)
from tmz.pipeline.run import dataset_rows, run_pipeline

pytestmark = pytest.mark.slow

PHRASES = [  # the project's own phrases (English -> Tifinagh Tamazight)
    ("Help!", "ⴰⵡⵙ!"),
    ("Water, please.", "ⴰⵎⴰⵏ, ⵜⵜⵅⵉⵍ."),
    ("Where is the pharmacy?", "ⵎⴰⵏⵉ ⵜⵍⵍⴰ ⵜⴼⴰⵔⵎⴰⵙⵉⵜ?"),
    ("Thank you.", "ⵜⴰⵏⵎⵎⵉⵔⵜ."),
]
MARGIN = 2.0
TRAIN = {
    "lora.r": 32, "lora.alpha": 64, "lora.dropout": 0.0, "training.max_steps": 400,
    "training.learned_margin": MARGIN, "training.learned_check_steps": 10,
    "training.per_device_batch_size": 8, "training.gradient_accumulation_steps": 1, "training.learning_rate": 1e-2,
    "training.lr_scheduler": "constant", "training.warmup_ratio": 0.0, "training.packing": False,
    "training.gradient_checkpointing": False, "training.save_steps": 10_000, "data.eval_split": None,
    "eval.after_training": False,
}  # fmt: skip
ALL_TRAIN = {"validation_ratio": 0.0, "test_ratio": 0.0, "seed": 0}


def config(work, sources, backend, formats, train=TRAIN):
    return PipelineConfig(
        pipeline=PipelineSection(name="e2e", workdir=work),
        data=DataSection(sources=sources, options=ALL_TRAIN),
        train=TrainSection(backend=backend, overrides=train),
        eval=EvalSection(split="train"),
        export=ExportSection(quantization="int8", prefill_lengths=[32], kv_cache=128, parity_split="train"),
        bundle=BundleSection(formats=formats),
        translate=TranslateSection(from_split="train", rows=8),
    )  # fmt: skip


def pytorch_answer_ids(model_dir, row) -> list[int]:
    """Greedy answer of the merged PyTorch model to a dataset row's prompt, as token ids (up to a stop token)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = tok.apply_chat_template([m.model_dump(exclude_none=True) for m in row.messages[:1]], add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)["input_ids"]  # fmt: skip
    stops = [tok.convert_tokens_to_ids(t) for t in ("<eos>", "<end_of_turn>")]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=48, do_sample=False, eos_token_id=stops)[
            0, ids.shape[1] :
        ].tolist()
    return out[: next((i for i, t in enumerate(out) if t in stops), len(out))]


def assert_trained_as_asked(adapter: AdapterManifest, adapter_dir, asked: dict, train_rows: int) -> None:
    """The adapter manifest holds the effective training configuration (every override ``asked``, the defaults
    for the rest), the base it trained (the tiny one built for it, kept inside the adapter), the hardware chosen
    and the dialects."""
    import torch

    from tmz.train import TrainConfig, load_config

    s = adapter.settings
    effective = TrainConfig.model_validate(s.config)
    for key, value in asked.items():
        section, name = key.split(".")
        assert getattr(getattr(effective, section), name) == value, key
    assert effective == load_config(overrides=asked)  # the rest: the defaults, untouched
    lora = ("r", "alpha", "dropout")  # the LoRA as peft was given it
    assert [getattr(s.lora, k) for k in lora] == [asked[f"lora.{k}"] for k in lora]
    assert s.base.source == "base" and s.base.local and (adapter_dir / "base" / "config.json").is_file()
    assert s.dialect_mode == "joint" and s.train_rows == train_rows and s.world_size == 1
    if torch.cuda.is_available():
        assert s.hardware.device == "cuda"
    else:  # plain fp32 LoRA; the default paged 8-bit AdamW needs CUDA, so plain AdamW
        assert (s.hardware.device, s.hardware.quantization, s.hardware.precision) == ("cpu", "none", "fp32")
        assert s.hardware.optim == "adamw_torch" and s.hardware.bitsandbytes is None


def assert_traced_to(bundle, dataset_dir, corpus) -> None:
    """The bundle's lineage, each link found from its child by hash, leads to the dataset prepared from
    ``corpus``, whose bytes on disk are those the dataset manifest hashed."""
    lineage = read_embedded_manifest(bundle).results.lineage  # what travels inside the bundle
    assert [e.kind for e in lineage] == ["export", "model", "adapter", "dataset"]
    manifest = load_manifest(bundle.with_name(f"{bundle.name}.{MANIFEST_NAME}"), expect_kind=BundleManifest)
    where = bundle.parent
    for entry in lineage:
        where = find_parent(manifest, where)
        manifest = load_manifest(where, expect_kind=entry.kind)  # every file of the link verified
        assert (manifest.name, manifest_hash(where)) == (entry.name, entry.sha256), entry.kind
    assert isinstance(manifest, DatasetManifest) and manifest.parent is None
    assert where == dataset_dir.resolve()
    read = [f for source in manifest.settings.sources for f in source.files]
    assert [Path(f.path).resolve() for f in read] == [corpus.resolve()]
    assert read[0].sha256 == sha256_file(corpus)


def test_text_chain_answers_identically_through_pytorch_task_and_litertlm(tmp_path):
    import sentencepiece as spm

    corpus = tmp_path / "phrases.csv"
    with open(corpus, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["source_language", "target_language", "source_text", "target_text"])
        w.writerows(("English", "Tamazight (Tifinagh)", en, zgh) for en, zgh in PHRASES)
    work = tmp_path / "work"
    report = run_pipeline(config(work, [corpus], "tiny", ["task", "litertlm"]), console=Console(quiet=True))

    assert [s.status for s in report.stages] == ["ran"] * 7
    assert report.evaluation.overall.exact == 1.0  # PyTorch learned every phrase
    adapter = load_manifest(work / "adapter", expect_kind=AdapterManifest)
    learned = adapter.results.learned
    assert learned.reached and learned.min_margin >= MARGIN
    assert_trained_as_asked(adapter, work / "adapter", TRAIN, train_rows=2 * len(PHRASES))
    parity = load_manifest(work / "export", expect_kind="export").results.parity
    assert parity.passed and parity.exact == parity.prompts == 2 * len(
        PHRASES
    )  # both directions were expanded
    sp = spm.SentencePieceProcessor(model_file=str(work / "model" / "tokenizer.model"))
    rows = {r.source_text: r for r in dataset_rows(work / "data", "train", 100)}
    assert {t.bundle.suffix for t in report.translations} == {".task", ".litertlm"}
    assert len(report.translations) == 2 * 2 * len(PHRASES)  # two bundles, two directions
    for t in report.translations:
        row = rows[t.sample.text]
        assert t.origin == "model" and t.text == row.target_text
        assert sp.encode(t.text) == pytorch_answer_ids(work / "model", row), (t.bundle.name, t.sample.text)

    for bundle in report.bundles:
        assert_traced_to(bundle, work / "data", corpus)

    again = run_pipeline(config(work, [corpus], "tiny", ["task", "litertlm"]), console=Console(quiet=True))
    assert [s.status for s in again.stages] == ["skipped"] * 7  # up to date: nothing re-runs
    assert [t.text for t in again.translations] == [t.text for t in report.translations]


def test_vision_chain_reads_images_through_litertlm(tmp_path):
    signs = [
        ("red", (200, 40, 40), (250, 230, 60), "ⴰⵙⴱⵉⵟⴰⵔ"),
        ("blue", (30, 60, 190), (240, 240, 240), "ⴰⵎⴰⵏ"),
    ]
    rows = []
    for name, ground, ink, answer in signs:
        im = Image.new("RGB", (64, 64), ground)
        d = ImageDraw.Draw(im)
        d.rectangle((8, 20, 56, 32), fill=ink)
        d.ellipse((20, 38, 44, 58), fill=ink)
        im.save(tmp_path / f"{name}.png")
        rows.append(
            {"id": name, "image": f"{name}.png", "target_language": "zgh_Tfng", "target_text": answer}
        )
    corpus = tmp_path / "signs.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    work = tmp_path / "work"
    report = run_pipeline(config(work, [corpus], "tiny-vision", ["litertlm"]),
                          console=Console(quiet=True))  # fmt: skip

    assert report.evaluation.overall.exact == 1.0
    assert load_manifest(work / "adapter", expect_kind="adapter").results.learned.reached
    parity = load_manifest(work / "export", expect_kind="export").results.parity
    assert parity.passed and parity.exact == parity.prompts == len(signs)
    assert len(report.translations) == len(signs)
    # images are stored in the dataset (RGB PNG); the answers are read through the .litertlm
    for t in report.translations:
        assert t.sample.image.is_file() and t.bundle.suffix == ".litertlm"
        assert t.origin == "model" and t.text == t.sample.expected
    assert sorted(t.text for t in report.translations) == sorted(answer for *_, answer in signs)
