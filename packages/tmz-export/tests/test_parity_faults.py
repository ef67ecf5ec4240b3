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
from tmz.core.plugins import get_registry
from tmz.export import ParityError, export, verify
from tmz.export.prompts import builtin, coerce
from tmz.export.tolerances import tolerance_for
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


def scaled(
    suffix: str, factor: float, rows: slice | None = None
) -> Callable[[dict[str, torch.Tensor]], None]:
    """The first weight named ``...suffix`` (its ``rows``, default all) times ``factor``."""

    def change(tensors: dict[str, torch.Tensor]) -> None:
        name = next(k for k in tensors if k.endswith(suffix))
        w = tensors[name].clone()
        w[rows or slice(None)] *= factor
        tensors[name] = w

    return change


def norms_offset(delta: float) -> Callable[[dict[str, torch.Tensor]], None]:
    def change(tensors: dict[str, torch.Tensor]) -> None:
        for name in [k for k in tensors if k.endswith("norm.weight")]:
            tensors[name] = tensors[name] + delta

    return change


#: The weight faults of docs/parity.md's table (bench/parity_tolerances.py makes the same ones).
WEIGHT_FAULTS = {
    "gate_proj x1.5": scaled("layers.0.mlp.gate_proj.weight", 1.5),
    "half of down_proj x1.1": scaled("layers.0.mlp.down_proj.weight", 1.1, slice(0, 32)),
    "norms +0.1": norms_offset(0.1),
    "norms +0.5": norms_offset(0.5),
    "embeddings x1.05": scaled("embed_tokens.weight", 1.05),
}
#: What each quantization tells from its own rounding on the memorised tiny model and these prompts (measured:
#: fp32 and fp16 every fault, int8 the norm offsets and the embedding scale, int4 none). On the demo's model
#: (docs/parity.md, bench/results/parity_tolerances-*.json) fp16 misses the gate and int4 catches norms +0.5.
CAUGHT = {
    "fp32": set(WEIGHT_FAULTS),
    "fp16": set(WEIGHT_FAULTS),
    "int8": {"norms +0.1", "norms +0.5", "embeddings x1.05"},
    "int4": set(),
}


@pytest.fixture(scope="module")
def text_export(request, tiny_text_model, tmp_path_factory) -> Callable[[str], Path]:
    """``text_export(q)``: the memorised tiny text model exported at ``q`` (fp16 and int4 converted here on first
    use, parity skipped; fp32 and int8 are the session's)."""
    made: dict[str, Path] = {}

    def get(q: str) -> Path:
        if q not in made:
            if q in ("fp32", "int8"):
                made[q] = request.getfixturevalue(
                    {"fp32": "tiny_text_export_fp32", "int8": "tiny_text_export"}[q]
                )
            else:
                made[q] = tmp_path_factory.mktemp("export") / f"text-{q}"
                export(
                    tiny_text_model, made[q], quantization=q, prefill_lengths=[32], kv_cache=128, parity=False
                )
        return made[q]

    return get


@pytest.fixture(scope="module")
def learned_and_unlearned(memorised_text_pairs, tmp_path_factory) -> list:
    """The memorised pairs and tmz-export's built-in sentences, which the memorised model never saw."""
    registry = get_registry()
    return [
        *coerce(registry, memorised_text_pairs),
        *builtin(registry, False, tmp_path_factory.mktemp("p"), (0, 0)),
    ]


@pytest.mark.parametrize("quantization", list(CAUGHT))
def test_each_quantization_tells_the_faults_its_rounding_does_not_hide(
    quantization, text_export, tiny_text_model, learned_and_unlearned, tmp_path
):
    """Against each tampered reference, the export (unchanged, correct) fails at its default tolerance exactly
    for the faults its quantization's rounding does not hide; a numeric failure of int4 suggests int8 (shown
    with a tightened tolerance, as no fault here gets past int4's), of the others it says a lighter
    quantization will not help."""
    exported = text_export(quantization)
    caught, messages = set(), {}
    for fault, change in WEIGHT_FAULTS.items():
        reference = with_weights(tiny_text_model, tmp_path / fault.replace(" ", "_"), change)
        try:
            verify(
                exported,
                model=reference,
                prompts=learned_and_unlearned,
                parity_prompts=len(learned_and_unlearned),
            )
        except ParityError as err:
            caught.add(fault)
            messages[fault] = " ".join(str(err).split())
    assert caught == CAUGHT[quantization], messages
    if quantization == "int4":
        with pytest.raises(ParityError) as err:
            verify(exported, prompts=learned_and_unlearned, parity_prompts=len(learned_and_unlearned),
                   tolerance=tolerance_for("int4").override(max_abs_delta=1e-3))  # fmt: skip
        messages["tightened"] = " ".join(str(err.value).split())
    for message in messages.values():
        if quantization == "int4":
            assert "int4 was measured to stray more than int8 on small models: try -q int8" in message
        else:
            assert "a lighter quantization is unlikely to help" in message and "try -q" not in message


@pytest.mark.parametrize("weight", ["layers.0.mlp.down_proj.weight", "layers.0.self_attn.o_proj.weight"])
def test_a_uniformly_scaled_projection_before_a_post_norm_changes_nothing(
    weight, tiny_text_export_fp32, tiny_text_model, memorised_text_pairs, tmp_path
):
    """Gemma normalises the output of o_proj and down_proj (post-attention / post-feedforward norms), so scaling
    either uniformly is no fault at all: even the fp32 export, which tells a gate x1.5, passes against it."""
    reference = with_weights(tiny_text_model, tmp_path / "scaled", scaled(weight, 1.5))
    report = verify(tiny_text_export_fp32, model=reference, prompts=memorised_text_pairs)
    assert report.passed and report.exact == report.prompts == len(memorised_text_pairs)
    assert report.max_abs_delta < 1e-3  # fp32's own tolerance: the scale left no trace


def test_verify_overrides_are_used_and_recorded_and_the_mean_alone_fails(
    tiny_text_export, memorised_text_pairs, tmp_path
):
    """`tmz export verify --max-delta/--mean-delta/--tie-margin` replace the defaults, and the report records
    the values and says they were overridden. With the mean tolerance below what int8 rounding gives (and the
    token tolerance left wide), the correct export fails on the mean |delta log p| alone."""
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(pair_row(i, p)) + "\n" for i, p in enumerate(memorised_text_pairs)),
                       encoding="utf-8")  # fmt: skip
    report_file = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["export", "verify", str(tiny_text_export), "--prompts", str(prompts),
                                      "--max-delta", "5", "--mean-delta", "1e-6", "--tie-margin", "4",
                                      "--report", str(report_file)])  # fmt: skip
    assert result.exit_code == 1, result.output
    report = ParityReport.model_validate_json(report_file.read_text(encoding="utf-8"))
    assert (report.logprob_tolerance, report.mean_tolerance, report.tie_margin) == (5.0, 1e-6, 4.0)
    assert "overridden" in report.tolerance_source and not report.passed
    failed = [c for c in report.cases if c.failure is not None]
    assert failed and all(c.failure == "logprob" for c in failed)
    # every failing prompt is within the token tolerance: its mean alone failed it
    assert all(c.max_abs_delta <= 5.0 and c.mean_abs_delta > 1e-6 for c in failed)
    flat = " ".join(result.output.split())
    assert "on average (tolerances 5 and 1e-06)" in flat, flat
    # the defaults again: the same export passes, and the report says whose tolerances it used
    assert verify(tiny_text_export, prompts=memorised_text_pairs).tolerance_source.endswith(
        "(docs/parity.md)"
    )
