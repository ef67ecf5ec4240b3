"""The CLI without a model: help texts, phrasebook commands, history commands, and errors as messages."""

import json

import pytest
from click.testing import CliRunner

from tmz.core.cli import cli
from tmz.runtime.history import History
from tmz.runtime.translation import Translation

from .test_phrasebook import EXAMPLES


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.mark.parametrize(
    "command",
    [
        ["translate"], ["history"], ["history", "list"], ["history", "export"], ["history", "favourite"],
        ["history", "delete"], ["history", "clear"], ["phrasebook"], ["phrasebook", "list"],
        ["phrasebook", "lookup"], ["eval"], ["bench"],
    ],
)  # fmt: skip
def test_every_command_has_help_with_an_example(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"tmz {command[0]}" in result.output


def test_phrasebook_lookup_and_list(run, tmp_path):
    result = run("phrasebook", "lookup", str(EXAMPLES), "where is the hospital", "-f", "en", "-t", "zgh_Latn")
    assert result.exit_code == 0 and result.stdout.strip() == "mani illa usgnf?"
    assert "emergency/em-002, not validated" in result.stderr
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text("id,en,zgh_Latn,validated_by\nr1,Good night,tiwtmin,3\n", encoding="utf-8")
    result = run("phrasebook", "lookup", str(reviewed), "good night", "-f", "en", "-t", "zgh_Latn")
    assert result.stdout.strip() == "tiwtmin" and "reviewed/r1, validated by 3 reviewers" in result.stderr
    result = run("phrasebook", "lookup", str(EXAMPLES), "where is the station", "-f", "en", "-t", "zgh")
    assert result.exit_code == 1 and "not in the phrasebook" in result.stderr
    result = run("phrasebook", "list", str(EXAMPLES), "--set", "government")
    assert result.exit_code == 0 and "ⴰⵏⴽⵛⴰⵎ" in result.stdout and "ⴰⵣⵓⵍ" not in result.stdout


def flat(text: str) -> str:
    """Terminal output without the line wrapping rich adds."""
    return " ".join(text.split())


def test_errors_are_messages_not_tracebacks(run, tmp_path):
    result = run(
        "translate", "-b", str(tmp_path / "nope.litertlm"), "-f", "en", "-t", "zgh", "--no-history", "hi"
    )
    assert result.exit_code == 1 and "nope.litertlm: no such bundle" in flat(result.stderr)
    result = run("phrasebook", "lookup", str(EXAMPLES), "hi", "-f", "en", "-t", "klingon")
    assert result.exit_code == 1 and "unknown language 'klingon'" in flat(result.stderr)


def test_history_commands(run, tmp_path):
    db = tmp_path / "history.sqlite"
    with History(db) as h:
        for text, result in (("Hello", "ⴰⵣⵓⵍ"), ("Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ")):
            h.add(Translation(text=result, origin="model", direction="en_Latn->zgh_Tfng", source_language="en",
                              source_script="Latn", target_language="zgh", target_script="Tfng", dialect=None,
                              source_text=text, latency_s=0.1, bundle_sha256="ab" * 32))  # fmt: skip
    listed = run("history", "--history", str(db), "list", "thank", "--json")
    [entry] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert entry["result"] == "ⵜⴰⵏⵎⵎⵉⵔⵜ"
    assert run("history", "--history", str(db), "favourite", str(entry["id"])).exit_code == 0
    assert (
        run("history", "--history", str(db), "export", str(tmp_path / "fav.jsonl"), "--favourites").exit_code
        == 0
    )
    assert [json.loads(x)["source_text"] for x in (tmp_path / "fav.jsonl").read_text().splitlines()] == [
        "Thank you"
    ]
    assert run("history", "--history", str(db), "clear").exit_code == 0
    assert [
        json.loads(x)["id"]
        for x in run("history", "--history", str(db), "list", "--json").stdout.splitlines()
    ] == [entry["id"]]
    missing = run("history", "--history", str(db), "delete", "999")
    assert missing.exit_code == 1 and "no history entry 999" in flat(missing.stderr)


@pytest.mark.slow
def test_bench_activation_option(run, tiny_text_bundles, tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", str(tiny_text_bundles["litertlm"]), "--prompt-tokens", "80", "--decode-tokens", "4"]
    result = run(*args, "--repeats", "1", "--activation", "float32", "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["activation"] == "float32" and report["runs"][0]["decoded_tokens"] == 4
    bad = run(*args, "--activation", "bfloat16")
    assert bad.exit_code == 2 and "bfloat16" in bad.output


def test_history_list_escapes_control_characters(run, tmp_path):
    db = tmp_path / "history.sqlite"
    hostile = "Hi\x1b]0;owned\x07\x1b[2J\x9b31m [bold]x[/bold]"
    with History(db) as h:
        h.add(Translation(text="ⴰⵣⵓⵍ\x1b[31m", origin="model", direction="en_Latn->zgh_Tfng", source_language="en",
                          source_script="Latn", target_language="zgh", target_script="Tfng", dialect=None,
                          source_text=hostile, latency_s=0.1, bundle_sha256="ab" * 32))  # fmt: skip
    shown = CliRunner(env={"COLUMNS": "400"}).invoke(cli, ["history", "--history", str(db), "list"])
    assert shown.exit_code == 0
    assert not any(c in shown.stdout for c in "\x1b\x07\x9b"), repr(shown.stdout)
    assert "\\x1b]0;owned" in flat(shown.stdout) and "[bold]x[/bold]" in flat(shown.stdout)
    listed = run("history", "--history", str(db), "list", "--json")
    assert json.loads(listed.stdout)["source_text"] == hostile  # JSON keeps the text as stored, escaped


def test_a_damaged_history_is_a_message_that_says_what_to_do(run, tmp_path):
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"\0garbage" * 1000)
    result = run("history", "--history", str(db), "list")
    assert result.exit_code == 1 and "damaged or not a SQLite database" in flat(result.stderr)
    assert "move it aside" in flat(result.stderr) and "Traceback" not in result.output
