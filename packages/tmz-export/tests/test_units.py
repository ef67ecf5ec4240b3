"""Prompt selection (lineage, given, built-in) and the pixel normalisation of the exported vision encoder."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor

from tmz.core.manifest import DatasetManifest, Producer, list_files, load_manifest, parent_ref, write_manifest
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side
from tmz.export.api import select_prompts
from tmz.export.checkpoint import open_checkpoint
from tmz.export.prompts import synthetic_image
from tmz.export.vision import PixelNormaliser

ZGH = Side("zgh", "Tfng", "zgh")


def write_dataset(root: Path, rows: list[dict]) -> Path:
    (root / "jsonl").mkdir(parents=True)
    (root / "jsonl" / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    write_manifest(DatasetManifest(name="d", producer=Producer.of("tmz-data"), files=list_files(root)), root)
    return root


def test_prompts_come_from_the_lineage_test_split(tiny_vision_base, tmp_path):
    synthetic_image(tmp_path / "data" / "images" / "a.png", (64, 64), seed=3)
    rows = [
        {"id": "t1", "direction": "en_Latn->zgh_Tfng", "source_language": "en", "source_script": "Latn",
         "target_language": "zgh", "target_script": "Tfng", "dialect": "zgh", "source_text": "Good night"},
        {"id": "i1", "direction": "und_Zyyy->zgh_Tfng", "source_language": "und", "source_script": "Zyyy",
         "target_language": "zgh", "target_script": "Tfng", "dialect": "zgh", "source_text": None,
         "image": "images/a.png"},
    ]  # fmt: skip
    dataset = write_dataset(tmp_path / "data", rows)
    model = tmp_path / "model"
    shutil.copytree(tiny_vision_base, model)
    manifest = load_manifest(model).model_copy(update={"parent": parent_ref(dataset)})
    write_manifest(manifest, model)
    ckpt = open_checkpoint(model)
    assert ckpt.dataset() == dataset.resolve()
    prompts, source = select_prompts(ckpt, None, 8, True, tmp_path / "img", (64, 64))
    assert source.startswith("dataset test split")
    assert [(p.id, p.kind) for p in prompts] == [("t1", "text"), ("i1", "image")]
    assert prompts[0].source == Side("en", "Latn") and prompts[0].target == ZGH
    assert prompts[1].source is None and prompts[1].image == dataset / "images" / "a.png"
    assert prompts[1].instruction(get_registry()).startswith("Translate the text in this image")
    text_only, _ = select_prompts(ckpt, None, 8, False, tmp_path / "img", (64, 64))
    assert [p.id for p in text_only] == ["t1"]


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
    normalisation = load_manifest(tiny_vision_base).settings["image_normalisation"]
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
