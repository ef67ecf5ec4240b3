"""History in SQLite: rows written, searchable, favourites, export, migrations, and a killed writer loses nothing."""

import csv
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from tmz.runtime.errors import HistoryError
from tmz.runtime.history import MIGRATIONS, SCHEMA_VERSION, History
from tmz.runtime.translation import Translation


def translation(text: str, result: str, source: str = "model", **kw) -> Translation:
    base = dict(
        direction="en_Latn->zgh_Tfng", source_language="en", source_script="Latn", target_language="zgh",
        target_script="Tfng", dialect=None, source_text=text, latency_s=0.25, bundle_sha256="ab" * 32,
    )  # fmt: skip
    return Translation(text=result, source=source, **{**base, **kw})


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "h" / "history.sqlite") as h:
        yield h


def test_rows_are_written_and_searchable(history):
    a = history.add(translation("Where is the hospital?", "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴳⵏⴼ?"))
    b = history.add(translation("Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ", source="phrasebook", bundle_sha256=None))
    c = history.add(translation("Merci", "ⵜⴰⵏⵎⵎⵉⵔⵜ", source_language="fr", direction="fr_Latn->zgh_Tfng"))
    assert [e.id for e in history.search()] == [c, b, a]  # newest first
    [hit] = history.search("HOSPITAL")
    assert (hit.id, hit.source_text, hit.result, hit.origin, hit.bundle_sha256) == (
        a, "Where is the hospital?", "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴳⵏⴼ?", "model", "ab" * 32,
    )  # fmt: skip
    assert hit.latency_s == 0.25 and hit.created.endswith("+00:00")
    assert {e.id for e in history.search("ⵜⴰⵏⵎⵎⵉⵔⵜ")} == {b, c}  # the result side, Tifinagh
    assert [e.id for e in history.search(language="fr")] == [c]
    assert history.search("100%") == []  # LIKE wildcards are literal


def test_favourite_delete_clear(history):
    ids = [history.add(translation(f"text {i}", f"r{i}")) for i in range(3)]
    history.favourite(ids[1])
    assert [e.id for e in history.search(favourites=True)] == [ids[1]]
    history.delete(ids[0])
    assert [e.id for e in history.search()] == [ids[2], ids[1]]
    assert history.clear() == 1  # the favourite stays
    assert [e.id for e in history.search()] == [ids[1]]
    history.favourite(ids[1], on=False)
    assert history.clear() == 1 and history.search() == []
    with pytest.raises(HistoryError, match="no history entry 999"):
        history.delete(999)


def test_export_jsonl_and_csv(history, tmp_path):
    history.add(translation("Hello", "ⴰⵣⵓⵍ"))
    history.add(translation("Yes", "ⵉⵀ"))
    assert history.export(tmp_path / "h.jsonl") == 2
    rows = [json.loads(line) for line in (tmp_path / "h.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["result"] for r in rows] == ["ⴰⵣⵓⵍ", "ⵉⵀ"]  # oldest first
    history.export(tmp_path / "h.csv", "csv")
    with (tmp_path / "h.csv").open(encoding="utf-8") as f:
        assert [r["source_text"] for r in csv.DictReader(f)] == ["Hello", "Yes"]


def test_migrations_upgrade_an_old_database_and_refuse_a_newer_one(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO translations (created, direction, target_language, target_script, source_text, result,"
        " origin, latency_s) VALUES ('2026-01-01T00:00:00+00:00', 'en_Latn->zgh_Tfng', 'zgh', 'Tfng', 'Hi',"
        " 'ⴰⵣⵓⵍ', 'model', 0.1)"
    )
    conn.commit()
    conn.close()
    with History(path) as h:
        [old] = h.search()
        assert (old.result, old.image_sha256) == ("ⴰⵣⵓⵍ", None)
        h.add(translation(None, "ⴰⵣⵓⵍ", image_sha256="cd" * 32))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="newer than this tmz-runtime"):
        History(path)


def test_not_a_database(tmp_path):
    (tmp_path / "junk.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HistoryError, match="cannot open the history database"):
        History(tmp_path / "junk.sqlite")


def test_rows_survive_a_killed_process(tmp_path):
    path = tmp_path / "history.sqlite"
    writer = textwrap.dedent(
        f"""
        import os, sys
        from tmz.runtime.history import History
        from tmz.runtime.translation import Translation
        h = History({str(path)!r})
        for i in range(5):
            h.add(Translation(text=f"r{{i}}", source="model", direction="en_Latn->zgh_Tfng", source_language="en",
                  source_script="Latn", target_language="zgh", target_script="Tfng", dialect=None,
                  source_text=f"t{{i}}", latency_s=0.1, bundle_sha256=None))
        print("written", flush=True)
        sys.stdin.read()  # wait, connection open, until killed
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", writer], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "written"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
    with History(path) as h:
        assert [e.source_text for e in h.search()] == [f"t{i}" for i in reversed(range(5))]
