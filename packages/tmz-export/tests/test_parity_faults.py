"""Parity tells a conversion fault from rounding: each injected fault fails, and the report names its kind.

The export stays the correct one; the reference checkpoint it is compared with (``verify --model``) is a copy
changed the way a broken conversion would differ from its source: one layer's weights scaled, the norm weights
offset, the tokenizer's pieces swapped, the chat template rendering another prompt. Which faults each
quantization can tell from its own rounding was measured (docs/parity.md): a scaled gate projection hides in
int8 noise, so weight faults are tested against the fp32 export; norm offsets show at int8 too.
"""

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file
from sentencepiece import sentencepiece_model_pb2

from tmz.core.cli import cli
from tmz.core.manifest import MANIFEST_NAME
from tmz.core.parity import ParityReport
from tmz.export import ParityError, export, verify
from tmz.train.memorise import pair_row

pytestmark = pytest.mark.slow


def plain_copy(model: Path, out: Path) -> Path:
    """The checkpoint as a plain Hugging Face directory (no tmz manifest to contradict the change)."""
    shutil.copytree(model, out)
    (out / MANIFEST_NAME).unlink()
    return out


def with_weights(model: Path, out: Path, change: Callable[[dict[str, torch.Tensor]], None]) -> Path:
    plain_copy(model, out)
    tensors = load_file(out / "model.safetensors")
    change(tensors)
    save_file(tensors, out / "model.safetensors", metadata={"format": "pt"})
    return out


def scale_layer(tensors: dict[str, torch.Tensor]) -> None:
    """Layer 0's gate projection x1.5 (a uniform scale of down/o projections would be undone by Gemma's
    post-norms: such a "fault" does not change the model)."""
    name = next(k for k in tensors if k.endswith("layers.0.mlp.gate_proj.weight"))
    tensors[name] = tensors[name] * 1.5


def offset_norms(tensors: dict[str, torch.Tensor]) -> None:
    for name in [k for k in tensors if k.endswith("norm.weight")]:
        tensors[name] = tensors[name] + 0.5


def swap_pieces(model: Path, out: Path) -> Path:
    """Two frequent prompt pieces trade ids in tokenizer.model (and the fast tokenizer is rebuilt from it)."""
    plain_copy(model, out)
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((out / "tokenizer.model").read_bytes())
    index = {p.piece: i for i, p in enumerate(proto.pieces)}
    a, b = index["a"], index["e"]
    proto.pieces[a].piece, proto.pieces[b].piece = "e", "a"
    (out / "tokenizer.model").write_bytes(proto.SerializeToString())
    (out / "tokenizer.json").unlink()
    return out


def reword_template(model: Path, out: Path) -> Path:
    """A chat template that puts a word before the user's text: the checkpoint's prompts are not the export's."""
    plain_copy(model, out)
    template = out / "chat_template.jinja"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace("{{ item['text'] }}", "{{ 'Please: ' + item['text'] }}"), encoding="utf-8"
    )
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


FAULTS = {
    "layer weights scaled": (lambda m, o: with_weights(m, o, scale_layer), {"divergence", "logprob"}),
    "norm weights offset": (lambda m, o: with_weights(m, o, offset_norms), {"divergence", "logprob"}),
    "tokenizer pieces swapped": (swap_pieces, {"tokenizer"}),
    "chat template reworded": (reword_template, {"chat_template"}),
}
CASES = [("tiny_text_export_fp32", fault) for fault in FAULTS] + [
    ("tiny_text_export", fault) for fault in FAULTS if fault != "layer weights scaled"
]


@pytest.mark.parametrize(("export_fixture", "fault"), CASES)
def test_a_faulty_reference_fails_with_its_diagnosis(
    request, fault, export_fixture, tiny_text_model, memorised_text_pairs, tmp_path
):
    make, kinds = FAULTS[fault]
    reference = make(tiny_text_model, tmp_path / "reference")
    export = request.getfixturevalue(export_fixture)
    with pytest.raises(ParityError) as err:
        verify(export, model=reference, prompts=memorised_text_pairs, report_file=tmp_path / "report.json")
    report = ParityReport.model_validate_json((tmp_path / "report.json").read_text(encoding="utf-8"))
    failures = {c.failure for c in report.cases} - {None}
    assert not report.passed and failures and failures <= kinds, failures
    message = str(err.value)
    assert report.first_failure is not None and any(c.id in message for c in report.cases if c.failure)
    if "chat_template" in failures:
        assert "chat template" in message
    if failures == {"tokenizer"}:
        assert "tokenizer pieces differ" in message


def test_verify_cli_names_a_divergence_against_a_tampered_checkpoint(
    tiny_text_export_fp32, tiny_text_model, memorised_text_pairs, tmp_path
):
    """The done-when of the parity issue: a correct export passes against its own checkpoint, and fails naming
    a divergence (PyTorch sure of another token) against a tampered copy of it: two tokens' embedding rows
    swapped, so where the export answers the first token of a memorised answer PyTorch answers the other."""
    sp = spm.SentencePieceProcessor(model_file=str(tiny_text_model / "tokenizer.model"))
    first, other = sp.encode(memorised_text_pairs[0].answer)[0], sp.piece_to_id("e")

    def swap(tensors: dict[str, torch.Tensor]) -> None:
        for name in [k for k in tensors if k.endswith("embed_tokens.weight") or k.endswith("lm_head.weight")]:
            w = tensors[name].clone()
            w[[first, other]] = w[[other, first]]
            tensors[name] = w

    reference = with_weights(tiny_text_model, tmp_path / "tampered", swap)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(pair_row(i, p)) + "\n" for i, p in enumerate(memorised_text_pairs)),
                       encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    ok = runner.invoke(cli, ["export", "verify", str(tiny_text_export_fp32), "--prompts", str(prompts)])
    assert ok.exit_code == 0 and "parity passed" in ok.output, ok.output
    bad = runner.invoke(
        cli,
        [
            "export",
            "verify",
            str(tiny_text_export_fp32),
            "--model",
            str(reference),
            "--prompts",
            str(prompts),
        ],
    )
    assert bad.exit_code == 1
    flat = " ".join(bad.output.split())
    assert re.search(r"\(([1-9]\d*) divergent", flat), flat  # at least one prompt diverged
    assert "the greedy answers part at token 0" in flat and "PyTorch was sure" in flat, flat


def test_vision_normalisation_left_out_is_named(tiny_vision_model, memorised_image_pairs, tmp_path):
    """An export made without the training's pixel normalisation (its processor says do_normalize false): the
    memorised answers still come out (the model is sure of them), but the encoder check sees other features."""
    raw = plain_copy(tiny_vision_model, tmp_path / "raw")
    config = json.loads((raw / "processor_config.json").read_text(encoding="utf-8"))
    config["image_processor"]["do_normalize"] = False
    (raw / "processor_config.json").write_text(json.dumps(config), encoding="utf-8")
    faulty = tmp_path / "export"
    export(
        raw,
        faulty,
        quantization="fp32",
        prefill_lengths=[32],
        kv_cache=128,
        parity=False,
        backend="tiny-vision",
    )
    with pytest.raises(ParityError, match="vision encoder") as err:
        verify(
            faulty, model=tiny_vision_model, prompts=memorised_image_pairs, report_file=tmp_path / "r.json"
        )
    report = ParityReport.model_validate_json((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report.vision_failures == len(memorised_image_pairs) and not report.passed
    assert all(c.failure == "vision_encoder" and c.vision_encoder_error > 0.3 for c in report.cases)
    assert "check the pixel normalisation" in str(err.value)
    # against the checkpoint it was converted from, the same export passes: the check compares, it does not guess
    assert verify(faulty, model=raw, prompts=memorised_image_pairs).passed
