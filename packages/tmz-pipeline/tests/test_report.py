"""What the pipeline reads from the artifacts (typed): learned rows, dataset rows as samples, and the summary."""

import io
from pathlib import Path

from datasets import Dataset, DatasetDict
from rich.console import Console

from tmz.core.dataset import SPLITS, UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT, Example, features, write_dataset
from tmz.core.kinds.adapter import AdapterResults, Learned, Recall, RowRecall
from tmz.core.kinds.model import Fidelity
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side, messages
from tmz.core.scoring import Evaluation, Scores
from tmz.pipeline.config import Sample
from tmz.pipeline.run import (
    PipelineReport,
    TranslationResult,
    dataset_rows,
    learned_ids,
    learning_line,
    print_report,
    sample_of,
)

EN, ZGH = Side("en", "Latn"), Side("zgh", "Tfng", "zgh")


def example(i: int, source: Side | None, text: str | None, answer: str, image: str | None = None) -> Example:
    src = source or Side(UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT)
    return Example(
        id=f"m{i}", group=f"g{i}", direction=f"{src.language}_{src.script}->zgh_Tfng",
        source_language=src.language, source_script=src.script, target_language="zgh", target_script="Tfng",
        dialect="zgh", source_text=text, target_text=answer, image=image,
        messages=messages(get_registry(), source, ZGH, text, answer),
    )  # fmt: skip


def dataset(root: Path) -> Path:
    rows = [example(0, EN, "Help!", "ⴰⵡⵙ!"), example(1, EN, "Thank you.", "ⵜⴰⵏⵎⵎⵉⵔⵜ."),
            example(2, None, None, "ⴰⵙⴱⵉⵟⴰⵔ", image="images/sign.png")]  # fmt: skip
    ds = Dataset.from_list([r.record() for r in rows], features=features())
    root.mkdir()
    write_dataset(root, DatasetDict({s: ds for s in SPLITS}))
    return root


def results(reached: bool = False) -> AdapterResults:
    recall = Recall(split="train", rows=3, exact=3 if reached else 2, margins=[
        RowRecall(id="m0", recalled=True, margin=2.0),
        RowRecall(id="m1", recalled=True, margin=0.5),  # recalled, but under the margin trained for
        RowRecall(id="m2", recalled=reached, margin=3.0),
    ])  # fmt: skip
    learned = Learned(
        margin=1.0, reached=reached, step=90 if reached else None, min_margin=0.5, share_learned=0.5
    )
    return AdapterResults(train_loss=0.1, global_step=100, learned=learned, recall=recall)


def test_learned_rows_are_those_recalled_with_the_margin(tmp_path):
    assert learned_ids(results(), "train") == {"m0"}
    assert learned_ids(results(reached=True), "train") == {"m0", "m2"}
    assert learned_ids(results(), "test") is None  # that split was not checked: every row counts
    assert learned_ids(AdapterResults(train_loss=0.1, global_step=100), "train") is None
    assert learned_ids(None, "train") is None


def test_dataset_rows_become_samples(tmp_path):
    data = dataset(tmp_path / "data")
    rows = dataset_rows(data, "train", 10)
    assert [r.id for r in rows] == ["m0", "m1", "m2"]
    assert [r.id for r in dataset_rows(data, "train", 1)] == ["m0"]
    assert [r.id for r in dataset_rows(data, "train", 10, only={"m2", "m1"})] == ["m1", "m2"]
    text, image = sample_of(rows[0], data), sample_of(rows[2], data)
    assert text == Sample(text="Help!", src="en", tgt="zgh", script="Tfng", src_script="Latn", dialect="zgh",
                          expected="ⴰⵡⵙ!")  # fmt: skip
    # an image of unknown text: no source language or script, the image found in the dataset
    assert image == Sample(image=data / "images" / "sign.png", tgt="zgh", script="Tfng", dialect="zgh",
                           expected="ⴰⵙⴱⵉⵟⴰⵔ")  # fmt: skip


def test_learning_line_says_how_training_went():
    assert learning_line(results()) == (
        "learned: 2 of 3 train phrases recalled after 100 steps (the cap; every answer token 1+ logits ahead not "
        "reached on all); parity and the translations below use only the phrases learned"
    )
    assert learning_line(results(reached=True)) == (
        "learned: all 3 train phrases recalled exactly after 90 steps (every answer token 1+ logits ahead; "
        "smallest margin 0.50)"
    )
    assert learning_line(AdapterResults(train_loss=0.1, global_step=100)) is None
    assert learning_line(None) is None


def test_print_report_shows_training_evaluation_and_translations(tmp_path):
    sample = Sample(text="Help!", src="en", tgt="zgh", script="Tfng", expected="ⴰⵡⵙ!")
    report = PipelineReport(
        tmp_path, training=results(),
        evaluation=Evaluation(split="test", overall=Scores(rows=8, chrf=55.06, bleu=20.0, exact=0.5)),
        translations=[TranslationResult(tmp_path / "b.task", sample, "ⴰⵡⵙ!", "model", 0.1)],
        fidelity=Fidelity(reference="nf4 base + adapter", weights="dequantized", max_new_tokens=64, prompts=32,
                          exact=31, max_abs_delta=0.0177, mean_abs_delta=0.0013),
    )  # fmt: skip
    out = io.StringIO()
    print_report(report, Console(file=out, width=200))
    text = out.getvalue()
    assert ("merge (dequantized weights) vs the trained model (nf4 base + adapter): 31/32 greedy answers "
            "identical, |delta log p| max 0.0177 mean 0.0013") in text  # fmt: skip
    assert "learned: 2 of 3 train phrases" in text
    assert "evaluation (test split, PyTorch): 8 rows, chrF++ 55.1, BLEU 20.0, exact 0.50" in text
    assert "= ⴰⵡⵙ!" in text and "model" in text
    out = io.StringIO()
    print_report(PipelineReport(tmp_path), Console(file=out, width=200))
    assert "evaluation" not in out.getvalue() and "learned" not in out.getvalue()
    assert "merge" not in out.getvalue()
