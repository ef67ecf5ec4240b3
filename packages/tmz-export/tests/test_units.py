"""Prompt selection (lineage, given, built-in) and the pixel normalisation of the exported vision encoder."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor

from tmz.core.dataset import SPLITS, UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT, Example, features, write_dataset
from tmz.core.kinds.base import ImageNormalisation
from tmz.core.kinds.dataset import DatasetResults, RowCounts
from tmz.core.manifest import DatasetManifest, Producer, list_files, load_manifest, parent_ref, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, messages
from tmz.export.api import select_prompts
from tmz.export.checkpoint import open_checkpoint
from tmz.export.prompts import ParityPrompt, coerce, synthetic_image
from tmz.export.vision import PixelNormaliser

ZGH = Side("zgh", "Tfng", "zgh")


def example(id: str, source: Side | None, text: str | None, image: str | None = None) -> Example:
    """A test-split example translating into ZGH (source None: an image of unknown text)."""
    src_lang, src_script = (source.language, source.script) if source else (UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT)
    conv = messages(get_registry(), source, ZGH, text, "ⴰⵣⵓⵍ")
    return Example(
        id=f"{id}|{src_lang}_{src_script}->zgh_Tfng", group=id, direction=f"{src_lang}_{src_script}->zgh_Tfng",
        source_language=src_lang, source_script=src_script, target_language="zgh", target_script="Tfng",
        dialect="zgh", source_text=text, target_text="ⴰⵣⵓⵍ", image=image, messages=conv,
    )  # fmt: skip


def dataset_with_test_split(root: Path, examples: list[Example]) -> Path:
    """A dataset artifact (written by tmz.core.dataset) whose test split holds ``examples``."""
    from datasets import Dataset, DatasetDict

    rows = {s: [e.record() for e in examples] if s == "test" else [] for s in SPLITS}
    columns = {s: {k: [row[k] for row in r] for k in features()} for s, r in rows.items()}
    splits = DatasetDict({s: Dataset.from_dict(c, features=features()) for s, c in columns.items()})
    splits = write_dataset(root, splits)
    results = DatasetResults.of(splits, RowCounts(read=len(examples), accepted=len(examples), rejected=0))
    manifest = DatasetManifest(
        name="d", producer=Producer.of("tmz-data"), files=list_files(root), results=results
    )
    write_manifest(manifest, root)
    return root


def test_prompts_come_from_the_lineage_test_split(tiny_vision_base, tmp_path):
    synthetic_image(tmp_path / "data" / "images" / "a.png", (64, 64), seed=3)
    examples = [example("t1", Side("en", "Latn"), "Good night"), example("i1", None, None, "images/a.png")]
    dataset = dataset_with_test_split(tmp_path / "data", examples)
    model = tmp_path / "model"
    shutil.copytree(tiny_vision_base, model)
    manifest = load_manifest(model).model_copy(update={"parent": parent_ref(dataset, model)})
    write_manifest(manifest, model)
    ckpt = open_checkpoint(model)
    assert ckpt.dataset() == dataset.resolve()
    prompts, source = select_prompts(ckpt, None, 8, True, tmp_path / "img", (64, 64))
    assert source.startswith("dataset test split")
    assert [(p.id, p.kind) for p in prompts] == [(examples[0].id, "text"), (examples[1].id, "image")]
    assert prompts[0].source == Side("en", "Latn") and prompts[0].target == ZGH
    assert prompts[1].source is None and prompts[1].image == dataset / "images" / "a.png"
    assert prompts[1].instruction(get_registry()).startswith("Translate the text in this image")
    # the direction tags are the dataset's own, the unknown-source image's included
    assert [p.direction() for p in prompts] == [e.direction for e in examples]
    text_only, _ = select_prompts(ckpt, None, 8, False, tmp_path / "img", (64, 64))
    assert [p.id for p in text_only] == [examples[0].id]


def test_the_lineage_is_followed_by_hash(tiny_text_base, tmp_path):
    """Model and dataset moved together still lead to the dataset; a replaced dataset no longer does."""
    dataset = dataset_with_test_split(
        tmp_path / "a" / "data", [example("t1", Side("en", "Latn"), "Good night")]
    )
    model = tmp_path / "a" / "model"
    shutil.copytree(tiny_text_base, model)
    write_manifest(load_manifest(model).model_copy(update={"parent": parent_ref(dataset, model)}), model)
    shutil.move(tmp_path / "a", tmp_path / "b")
    ckpt = open_checkpoint(tmp_path / "b" / "model")
    assert ckpt.dataset() == (tmp_path / "b" / "data").resolve()
    assert select_prompts(ckpt, None, 8, False, tmp_path, (0, 0))[1].startswith("dataset test split")
    replaced = load_manifest(tmp_path / "b" / "data").model_copy(update={"name": "another"})
    write_manifest(replaced, tmp_path / "b" / "data")
    assert ckpt.dataset() is None
    assert select_prompts(ckpt, None, 8, False, tmp_path, (0, 0))[1] == "built-in"


def test_unknown_source_prompts_have_the_dataset_direction_tag():
    registry = get_registry()
    image = ParityPrompt("i", None, ZGH, None, Path("x.png"))
    assert image.direction() == f"{UNKNOWN_LANGUAGE}_{UNKNOWN_SCRIPT}->zgh_Tfng" == "und_Zyyy->zgh_Tfng"
    row = {"source_language": UNKNOWN_LANGUAGE, "source_script": UNKNOWN_SCRIPT, "target_language": "zgh",
           "target_script": "Tfng", "dialect": "zgh", "image": "x.png"}  # fmt: skip
    (given,) = coerce(registry, [row], Path("/data"))
    assert given.source is None and given.image == Path("/data/x.png")
    assert given.direction() == "und_Zyyy->zgh_Tfng"


def test_given_prompts_win_and_builtin_images_are_not_white(tiny_text_base, tmp_path):
    ckpt = open_checkpoint(tiny_text_base)
    given = [(Side("en", "Latn"), ZGH, "Thank you"), (Side("fr", "Latn"), ZGH, "Merci")]
    prompts, source = select_prompts(ckpt, given, 1, False, tmp_path, (64, 64))
    assert source == "given" and [p.text for p in prompts] == ["Thank you"]
    builtin, source = select_prompts(ckpt, None, 20, True, tmp_path, (64, 64))
    images = [p.image for p in builtin if p.image is not None]
    assert source == "built-in" and len(images) == 2 and len(builtin) > 4
    for path in images:
        pixels = np.asarray(Image.open(path))
        assert pixels.shape == (64, 64, 3) and pixels.mean() < 200 and pixels.std() > 30


def test_pixel_normaliser_reproduces_the_processor(tiny_vision_base, tmp_path):
    """Device pixels (RGB in [0, 1]) through the normaliser equal the HF processor's training pixels."""
    processor = AutoImageProcessor.from_pretrained(tiny_vision_base)
    normalisation = load_manifest(tiny_vision_base).settings.image_normalisation
    assert normalisation == ImageNormalisation.of(processor)
    image = Image.open(synthetic_image(tmp_path / "x.png", (64, 64), seed=1)).convert("RGB")
    expected = processor(images=[image], return_tensors="pt").pixel_values
    device = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    got = PixelNormaliser(normalisation)(device)
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(device, expected, atol=1e-2)  # without it the encoder sees other pixels


def test_backend_export_options_reach_litert_torch(tmp_path):
    import dataclasses

    from tmz.core.plugins import get_registry
    from tmz.export.convert import module_config
    from tmz.export.errors import ExportError

    base = get_registry().backend("tiny")
    plugin_like = dataclasses.replace(base, export_options={"externalize_embedder": True})
    config = module_config(plugin_like, model="m", output_dir=str(tmp_path), work_dir=str(tmp_path))
    assert config.externalize_embedder is True and config.task == "text_generation"
    assert (
        module_config(base, model="m", output_dir=str(tmp_path), work_dir=str(tmp_path)).externalize_embedder
        is False
    )
    broken = dataclasses.replace(base, export_options={"no_such_setting": 1})
    with pytest.raises(
        ExportError, match="'tiny': its export_options .* are not litert-torch export settings"
    ):
        module_config(broken, model="m", output_dir=str(tmp_path), work_dir=str(tmp_path))
