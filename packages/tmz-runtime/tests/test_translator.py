"""The Translator on tiny bundles that memorised their pairs, through LiteRT-LM as on the phone."""

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

import tmz.runtime.translator as translator_module
from tmz.core.errors import DataError, RegistryError
from tmz.core.manifest import sha256_file
from tmz.core.plugins import get_registry
from tmz.core.prompt import Side
from tmz.runtime import (
    BundleLoadError,
    EngineError,
    History,
    ImageError,
    ModalityError,
    Phrasebook,
    Translator,
    UnknownLanguageError,
)
from tmz.runtime.batch import translate_file
from tmz.runtime.phrasebook import Phrase

pytestmark = pytest.mark.slow  # every test runs the tiny bundles


def tag(side: Side) -> str:
    return f"{side.language}_{side.script}"


@pytest.fixture(scope="module", params=["litertlm", "task"])
def text_bundle(request, tiny_text_bundles) -> Path:
    return Path(tiny_text_bundles[request.param])


@pytest.fixture(scope="module")
def translator(text_bundle):
    with Translator(text_bundle, max_tokens=32) as tr:
        yield tr


@pytest.fixture
def engine_calls(monkeypatch):
    """How many engines the Translator creates (the model is loaded only through create_engine)."""
    calls = []
    real = translator_module.create_engine

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(translator_module, "create_engine", counting)
    return calls


def test_memorised_translations_come_back(translator, text_bundle, memorised_text_pairs):
    for pair in memorised_text_pairs:
        t = translator.translate(pair.input, tag(pair.source), tag(pair.target))
        assert (t.text, t.origin, t.converted_from) == (pair.answer, "model", None)
        assert t.direction == f"{tag(pair.source)}->{tag(pair.target)}"
        assert t.bundle_sha256 == sha256_file(text_bundle) and t.latency_s > 0


@pytest.mark.parametrize("activation", ["float32", "int8"])
def test_activation_data_type(text_bundle, memorised_text_pairs, activation):
    with Translator(text_bundle, max_tokens=32, activation=activation) as tr:
        for pair in memorised_text_pairs:  # memorised answers survive fp32 and int8 activations alike
            assert tr.translate(pair.input, tag(pair.source), tag(pair.target)).text == pair.answer
    pair = memorised_text_pairs[0]
    with Translator(text_bundle, activation="bfloat16") as tr, pytest.raises(EngineError, match="float32"):
        tr.translate(pair.input, tag(pair.source), tag(pair.target))


def test_max_tokens_bounds_the_answer(text_bundle, translator, memorised_text_pairs, tiny_text_model):
    """`max_tokens` cuts the answer after that many tokens (per Translator and per call): the memorised answer's
    first pieces, never more."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_text_model / "tokenizer.model"))
    pair = max(memorised_text_pairs, key=lambda p: len(sp.encode(p.answer)))
    full = len(sp.encode(pair.answer))
    assert full >= 4
    args = (pair.input, tag(pair.source), tag(pair.target))
    for n in (1, 3):
        cut = translator.translate(*args, max_tokens=n).text
        assert cut and pair.answer.startswith(cut) and len(sp.encode(cut)) <= n < full, (n, cut)
    assert translator.translate(*args, max_tokens=full + 1).text == pair.answer
    with Translator(text_bundle, max_tokens=2) as short:
        cut = short.translate(*args).text
        assert pair.answer.startswith(cut) and 0 < len(sp.encode(cut)) <= 2
        assert "".join(short.stream(*args)) == cut


def test_no_history_writes_no_database(text_bundle, memorised_text_pairs, tmp_path, monkeypatch):
    """`--no-history` (and `history=None` in Python) keeps none: neither the given nor the default database
    is created; without the flag the same command creates it."""
    from click.testing import CliRunner

    from tmz.core.cli import cli

    pair = memorised_text_pairs[0]
    default, given = tmp_path / "default.sqlite", tmp_path / "given.sqlite"
    monkeypatch.setenv("TMZ_HISTORY", str(default))
    base = ["translate", "-b", str(text_bundle), "-f", tag(pair.source), "-t", tag(pair.target), pair.input]
    runner = CliRunner()
    for extra in (["--no-history"], ["--no-history", "--history", str(given)]):
        result = runner.invoke(cli, [*base, *extra])
        assert result.exit_code == 0 and result.stdout == pair.answer + "\n", result.output
    with Translator(text_bundle) as tr:  # history=None by default
        assert tr.translate(pair.input, tag(pair.source), tag(pair.target)).history_id is None
    assert not default.exists() and not given.exists() and list(tmp_path.iterdir()) == []
    kept = runner.invoke(cli, [*base, "--history", str(given)])
    assert kept.exit_code == 0 and given.is_file()
    with History(given) as history:
        assert [e.result for e in history.search()] == [pair.answer]


def test_float32_activations_score_as_the_default_does_on_this_cpu(tiny_text_bundles, memorised_text_pairs):
    """What `activation="float32"` changes, measured on the tiny bundle: on the x86 CPUs tmz is tested on,
    LiteRT-LM gives the memorised answers the same per-token log-probabilities with the default activations
    (float16 requested), float32 and float16, so there float32 comes no closer to PyTorch (README: Engine
    numerics). A CPU with native float16 arithmetic would fail this test: then the claim needs measuring again."""
    from tmz.core.prompt import instruction
    from tmz.runtime.bundle import create_engine, open_bundle

    bundle = open_bundle(tiny_text_bundles["litertlm"], get_registry())

    def scores(activation: str | None) -> list[float]:
        out = []
        with create_engine(bundle, activation=activation) as engine:
            for p in memorised_text_pairs:
                turn = instruction(get_registry(), p.source, p.target, p.input)
                session = engine.create_session(apply_prompt_template=False)
                try:
                    session.run_prefill([f"<start_of_turn>user\n{turn}<end_of_turn>\n<start_of_turn>model\n"])
                    out += [float(x) for x in session.run_text_scoring([p.answer]).token_scores[0]]
                finally:
                    session.close()
        return out

    default = scores(None)
    assert len(default) > len(memorised_text_pairs) and all(x <= 0 for x in default)
    for activation in ("float32", "float16"):
        assert scores(activation) == pytest.approx(default, abs=1e-6), activation


def test_stream_yields_the_memorised_text(translator, memorised_text_pairs):
    for pair in memorised_text_pairs:
        stream = translator.stream(pair.input, tag(pair.source), tag(pair.target))
        chunks = list(stream)
        assert chunks and "".join(chunks).strip() == pair.answer
        assert stream.result.text == pair.answer and stream.result.origin == "model"


def test_a_stream_closed_early_frees_the_engine(translator, memorised_text_pairs):
    pair = memorised_text_pairs[0]
    stream = translator.stream(pair.input, tag(pair.source), tag(pair.target))
    next(stream)
    stream.close()
    assert translator.translate(pair.input, tag(pair.source), tag(pair.target)).text == pair.answer


def test_script_at_the_edges(translator, memorised_text_pairs):
    """Ask for the other script of a memorised Tamazight side: the dialect's transliterator bridges it."""
    translit = get_registry().dialect("zgh").transliterator
    checked = 0
    for pair in memorised_text_pairs:
        if pair.target.language == "zgh":
            other = "Latn" if pair.target.script == "Tfng" else "Tfng"
            t = translator.translate(pair.input, tag(pair.source), "zgh", script=other)
            assert t.text == translit.transliterate(pair.answer, pair.target.script, other)
            assert (t.converted_from, t.target_script) == (pair.target.script, other)
            checked += 1
        elif pair.source.language == "zgh":
            other = "Latn" if pair.source.script == "Tfng" else "Tfng"
            typed = translit.transliterate(pair.input, pair.source.script, other)
            t = translator.translate(typed, "zgh", tag(pair.target))  # script detected from the text
            assert (t.text, t.source_script, t.source_text) == (pair.answer, other, typed)
            checked += 1
    assert checked


def test_several_threads_share_one_translator(translator, memorised_text_pairs):
    results: dict[int, str] = {}
    work = list(enumerate(memorised_text_pairs * 2))

    def run(i, pair):
        results[i] = translator.translate(pair.input, tag(pair.source), tag(pair.target)).text

    threads = [threading.Thread(target=run, args=item) for item in work]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == {i: pair.answer for i, pair in work}


def test_a_phrasebook_hit_does_not_call_the_model(text_bundle, memorised_text_pairs, engine_calls, tmp_path):
    pair = memorised_text_pairs[0]
    curated = "ⴰⵣⵓⵍ ⴰⵎⵇⵔⴰⵏ"  # deliberately not what the model says, so the answer shows where it came from
    phrase = Phrase("emergency", "p1", "emergency", {(pair.source.language, pair.source.script): pair.input,
                    (pair.target.language, pair.target.script): curated}, "test.csv", 2)  # fmt: skip
    book = Phrasebook(get_registry(), [phrase])
    with (
        History(tmp_path / "h.sqlite") as history,
        Translator(text_bundle, phrasebook=book, history=history) as tr,
    ):
        t = tr.translate(f"  {pair.input.upper()} ", tag(pair.source), tag(pair.target))
        assert (t.text, t.origin, t.phrase_set, t.phrase_id, t.bundle_sha256) == (
            curated,
            "phrasebook",
            "emergency",
            "p1",
            None,
        )
        assert list(tr.stream(pair.input, tag(pair.source), tag(pair.target))) == [curated]
        assert engine_calls == [] and not tr.engine_loaded
        other = memorised_text_pairs[1]
        t = tr.translate(other.input, tag(other.source), tag(other.target))
        assert (t.text, t.origin) == (other.answer, "model")
        assert len(engine_calls) == 1 and tr.engine_loaded
        assert [e.origin for e in history.search()] == ["model", "phrasebook", "phrasebook"]


def test_history_rows_are_written_and_searchable(text_bundle, memorised_text_pairs, tmp_path):
    with History(tmp_path / "h.sqlite") as history, Translator(text_bundle, history=history) as tr:
        made = [tr.translate(p.input, tag(p.source), tag(p.target)) for p in memorised_text_pairs]
        for t in made:
            [entry] = history.search(t.text)
            assert entry.id == t.history_id
            assert (entry.source_text, entry.result, entry.direction) == (t.source_text, t.text, t.direction)
            assert entry.bundle_sha256 == sha256_file(text_bundle) and entry.latency_s == t.latency_s


def test_batch_file_keeps_line_alignment(translator, memorised_text_pairs, tmp_path):
    pairs = [p for p in memorised_text_pairs if tag(p.source) == "en_Latn" and tag(p.target) == "zgh_Tfng"]
    src = tmp_path / "in.txt"
    src.write_text("\n".join([pairs[0].input, "", *(p.input for p in pairs)]) + "\n", encoding="utf-8")
    results = translate_file(translator, src, tmp_path / "out.txt", "en", "zgh_Tfng")
    assert results[1] is None
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines() == [
        pairs[0].answer,
        "",
        *(p.answer for p in pairs),
    ]


def test_named_errors(translator, text_bundle, tmp_path, engine_calls, monkeypatch):
    (tmp_path / "notes.txt").write_text("not a bundle", encoding="utf-8")
    for path, needle in (
        (tmp_path / "missing.litertlm", "no such bundle"),
        (tmp_path, "is a folder"),
        (tmp_path / "notes.txt", "not a bundle"),
    ):
        with pytest.raises(BundleLoadError, match=needle):
            Translator(path)
    with pytest.raises(UnknownLanguageError, match="klingon"):
        translator.translate("Thank you", "en", "klingon")
    with pytest.raises(UnknownLanguageError, match="does not translate"):
        translator.translate("ⴰⵣⵓⵍ", "zgh", "tzm")
    with pytest.raises(DataError, match="nothing to translate"):
        translator.translate("  ", "en", "zgh")
    with pytest.raises(ModalityError, match="text bundle"):
        translator.translate_image(b"not even an image", "zgh")
    assert engine_calls == []

    import tmz.bundle

    real = tmz.bundle.read_embedded_manifest
    monkeypatch.setattr(
        tmz.bundle, "read_embedded_manifest", lambda p: real(p).model_copy(update={"prompt_format": "tmz-v0"})
    )
    with pytest.raises(RegistryError, match="prompt format 'tmz-v0' is unknown"):
        Translator(text_bundle)


# -- vision -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vision_translator(tiny_vision_bundle):
    with Translator(tiny_vision_bundle, max_tokens=16) as tr:
        yield tr


def test_image_translation_on_the_tiny_vision_bundle(
    vision_translator, memorised_image_pairs, tiny_vision_bundle
):
    for pair in memorised_image_pairs:
        t = vision_translator.translate_image(pair.input, tag(pair.target))
        assert (t.text, t.origin, t.direction) == (pair.answer, "model", f"und_Zyyy->{tag(pair.target)}")
        assert t.image_sha256 == sha256_file(pair.input) and t.source_text is None
        assert (
            vision_translator.translate_image(Path(pair.input).read_bytes(), tag(pair.target)).text
            == pair.answer
        )


def test_bad_images_are_named_errors(vision_translator, tmp_path):
    with pytest.raises(ImageError, match="not a readable image"):
        vision_translator.translate_image(b"\x89PNG broken", "zgh")
    with pytest.raises(ImageError, match="cannot read the image"):
        vision_translator.translate_image(tmp_path / "missing.png", "zgh")


# -- CLI ----------------------------------------------------------------------------------------------
def test_cli_translate_arguments_stdin_stream_and_history(text_bundle, memorised_text_pairs, tmp_path):
    from click.testing import CliRunner

    from tmz.core.cli import cli

    runner = CliRunner()
    db = str(tmp_path / "h.sqlite")
    pairs = [p for p in memorised_text_pairs if tag(p.source) == "en_Latn" and tag(p.target) == "zgh_Tfng"]
    base = ["translate", "-b", str(text_bundle), "-f", "en", "-t", "zgh_Tfng", "--history", db]
    one = runner.invoke(cli, [*base, *pairs[0].input.split()])
    assert (
        one.exit_code == 0
        and one.stdout == pairs[0].answer + "\n"
        and "[model, en_Latn->zgh_Tfng" in one.stderr
    )
    piped = runner.invoke(cli, base, input="".join(p.input + "\n\n" for p in pairs))
    assert piped.stdout.splitlines() == [line for p in pairs for line in (p.answer, "")]  # line n for line n
    piped = runner.invoke(cli, [*base, "--json"], input=f"\n{pairs[0].input}\r\n\n")
    assert [json.loads(line) and json.loads(line)["text"] for line in piped.stdout.splitlines()] == [
        None, pairs[0].answer, None,
    ]  # fmt: skip
    streamed = runner.invoke(cli, [*base, "--stream", pairs[0].input])
    assert streamed.stdout.strip() == pairs[0].answer
    listed = runner.invoke(cli, ["history", "--history", db, "list", "--json", "--limit", "100"])
    assert len(listed.stdout.splitlines()) == 3 + len(pairs)  # blank lines are not translations
    image = runner.invoke(cli, ["translate", "-b", str(text_bundle), "-t", "zgh", "--image", str(tmp_path / "x.png"),
                                "--no-history"])  # fmt: skip
    assert image.exit_code == 1 and "text bundle" in " ".join(image.stderr.split())


# -- altered bundles, a damaged history, phrasebook validation ---------------------------------------
@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TMZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_altered_bundles_are_refused_before_they_run(text_bundle, tmp_path, cache, engine_calls):
    from tmz.bundle import inspect_bundle

    flipped = tmp_path / "flipped" / text_bundle.name
    flipped.parent.mkdir()
    shutil.copy(text_bundle, flipped)
    info = inspect_bundle(flipped)
    model = max(info.sections, key=lambda s: s.size)
    data = bytearray(flipped.read_bytes())
    data[model.offset + model.size // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    with pytest.raises(BundleLoadError, match=f"section '{model.name}' has sha256 .*tmz bundle verify"):
        Translator(flipped)
    junk = tmp_path / "junk" / text_bundle.name
    junk.parent.mkdir()
    shutil.copy(text_bundle, junk)
    with open(junk, "ab") as f:
        f.write(b"junk")
    with pytest.raises(BundleLoadError, match="4 bytes follow"):
        Translator(junk)
    assert engine_calls == []


def test_a_bundle_is_checked_once_per_version_of_the_file(text_bundle, tmp_path, cache, monkeypatch):
    import tmz.bundle

    checks = []
    real = tmz.bundle.check_integrity
    monkeypatch.setattr(tmz.bundle, "check_integrity", lambda p: checks.append(p) or real(p))
    path = tmp_path / text_bundle.name
    shutil.copy(text_bundle, path)
    Translator(path).close()
    Translator(path).close()
    assert len(checks) == 1  # the second open found the first check in the cache
    st = path.stat()
    data = bytearray(path.read_bytes())
    info = tmz.bundle.inspect_bundle(path)
    s = info.sections[-1] if path.suffix == ".litertlm" else info.sections[0]
    data[s.offset] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the ctime moved
    with pytest.raises(BundleLoadError, match="has sha256"):
        Translator(path)
    assert len(checks) == 2


def test_a_damaged_history_warns_and_translates(text_bundle, memorised_text_pairs, tmp_path, cache):
    from click.testing import CliRunner

    from tmz.core.cli import cli

    db = tmp_path / "history.sqlite"
    db.write_bytes(b"\0not sqlite" * 500)
    pair = next(p for p in memorised_text_pairs if tag(p.source) == "en_Latn")
    result = CliRunner().invoke(cli, ["translate", "-b", str(text_bundle), "-f", "en", "-t", tag(pair.target),
                                      "--history", str(db), pair.input])  # fmt: skip
    assert result.exit_code == 0 and result.stdout == pair.answer + "\n"
    message = " ".join(result.stderr.split())
    assert "damaged or not a SQLite database" in message and "translating without history" in message
    assert db.read_bytes() == b"\0not sqlite" * 500


def test_phrasebook_answers_say_whether_reviewers_validated_them(
    text_bundle, memorised_text_pairs, tmp_path, cache
):
    from click.testing import CliRunner

    from tmz.core.cli import cli

    pair = memorised_text_pairs[0]
    book = tmp_path / "reviewed.csv"
    book.write_text(f"id,{tag(pair.source)},{tag(pair.target)},validated_by\nr1,{pair.input},ⴰⵣⵓⵍ,2\n",
                    encoding="utf-8")  # fmt: skip
    with Translator(text_bundle, phrasebook=Phrasebook.load(get_registry(), [book])) as tr:
        t = tr.translate(pair.input, tag(pair.source), tag(pair.target))
        assert (t.origin, t.validation) == ("phrasebook", "validated by 2 reviewers")
        other = memorised_text_pairs[1]
        assert (
            tr.translate(other.input, tag(other.source), tag(other.target)).validation is None
        )  # the model's
    args = ["translate", "-b", str(text_bundle), "-f", tag(pair.source), "-t", tag(pair.target), "-p", str(book),
            "--no-history", pair.input]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "[phrasebook reviewed/r1, validated by 2 reviewers," in result.stderr
    record = json.loads(CliRunner().invoke(cli, [*args, "--json"]).stdout)
    assert record["validation"] == "validated by 2 reviewers"
