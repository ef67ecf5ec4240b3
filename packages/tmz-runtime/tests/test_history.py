"""History in SQLite: text and image rows written, searchable, favourites, export, migrations (a failed one rolled
back), and a writer killed mid-loop loses no committed row."""

import csv
import json
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from contextlib import closing

import pytest

from tmz.runtime import history as history_module
from tmz.runtime.errors import HistoryError
from tmz.runtime.history import MIGRATIONS, SCHEMA_VERSION, History
from tmz.runtime.translation import Translation


def translation(text: str, result: str, origin: str = "model", **kw) -> Translation:
    base = dict(
        direction="en_Latn->zgh_Tfng", source_language="en", source_script="Latn", target_language="zgh",
        target_script="Tfng", dialect=None, source_text=text, latency_s=0.25, bundle_sha256="ab" * 32,
    )  # fmt: skip
    return Translation(text=result, origin=origin, **{**base, **kw})


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "h" / "history.sqlite") as h:
        yield h


def test_rows_are_written_and_searchable(history):
    a = history.add(translation("Where is the hospital?", "ⵎⴰⵏⵉ ⵉⵍⵍⴰ ⵓⵙⴳⵏⴼ?"))
    b = history.add(translation("Thank you", "ⵜⴰⵏⵎⵎⵉⵔⵜ", origin="phrasebook", bundle_sha256=None))
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


IMAGE = dict(
    source_language=None, source_script=None, direction="und_Zyyy->zgh_Tfng", image_sha256="cd" * 32,
    bundle_sha256="ef" * 32,
)  # fmt: skip


def test_image_rows_are_read_back_searched_and_exported(history, tmp_path):
    text = history.add(translation("Hospital", "ⴰⵙⴱⵉⵟⴰⵔ"))
    sign = history.add(translation(None, "ⴰⵙⴱⵉⵟⴰⵔ", **IMAGE))
    other = history.add(translation(None, "ⴰⵎⴰⵏ", **{**IMAGE, "image_sha256": "01" * 32}))
    got = history.get(sign)
    assert (got.source_text, got.source_language, got.direction, got.image_sha256, got.result) == (
        None, None, "und_Zyyy->zgh_Tfng", "cd" * 32, "ⴰⵙⴱⵉⵟⴰⵔ",
    )  # fmt: skip
    assert [e.id for e in history.search(kind="image")] == [other, sign]
    assert [e.id for e in history.search(kind="text")] == [text]
    assert [e.id for e in history.search("ⴰⵙⴱⵉⵟⴰⵔ")] == [sign, text]  # the result of an image matches too
    assert [e.id for e in history.search(image_sha256="cd" * 32)] == [sign]
    assert [e.id for e in history.search(language="zgh", kind="image")] == [other, sign]
    history.favourite(other)
    assert [e.id for e in history.search(favourites=True, kind="image")] == [other]
    assert history.export(tmp_path / "images.jsonl", kind="image") == 2
    rows = [json.loads(line) for line in (tmp_path / "images.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["source_text"], r["image_sha256"]) for r in rows] == [
        (sign, None, "cd" * 32), (other, None, "01" * 32),
    ]  # fmt: skip
    assert history.export(tmp_path / "all.csv", "csv") == 3
    with (tmp_path / "all.csv").open(encoding="utf-8") as f:
        assert [(r["source_text"], r["image_sha256"]) for r in csv.DictReader(f)] == [
            ("Hospital", ""), ("", "cd" * 32), ("", "01" * 32),
        ]  # fmt: skip


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
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HistoryError, match="damaged or not a SQLite database .*move it aside .*--no-history"):
        History(junk)
    assert junk.read_bytes() == b"this is not sqlite at all" * 100  # left as it was


def test_a_damaged_database_is_a_named_error_when_read(tmp_path):
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        for i in range(400):
            h.add(translation(f"Hello {i}" * 20, "ⴰⵣⵓⵍ"))
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 6] = b"\xff" * (4096 * 3)  # pages of rows overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match="damaged .*move it aside"), History(path) as h:
        h.search(limit=None)


def test_another_programs_database_is_left_alone(tmp_path):
    path = tmp_path / "notes.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
    path.chmod(0o644)
    before = path.read_bytes()
    with pytest.raises(
        HistoryError, match=r"another program's SQLite database \(tables: notes.*another file"
    ):
        History(path)
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o644
    with closing(sqlite3.connect(path)) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_the_database_is_private(tmp_path):
    path = tmp_path / "new" / "history.sqlite"
    with History(path) as h:
        h.add(translation("Hello", "ⴰⵣⵓⵍ"))
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes  # the -wal and -shm files too
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # made by an older tmz
    History(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_failed_migration_leaves_schema_and_rows_as_before(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        h.add(translation("Hello", "ⴰⵣⵓⵍ"))

    def snapshot():
        with closing(sqlite3.connect(path)) as conn:
            return (
                conn.execute("PRAGMA user_version").fetchone()[0],
                conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT * FROM translations").fetchall(),
            )

    before = snapshot()
    broken = """
        CREATE TABLE phrases (id INTEGER PRIMARY KEY);
        ALTER TABLE translations ADD COLUMN note TEXT;
        DELETE FROM translations;
        ALTER TABLE no_such_table ADD COLUMN x TEXT;
    """
    monkeypatch.setattr(history_module, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(
        HistoryError, match=f"version {SCHEMA_VERSION + 1} failed .*no such table: no_such_table"
    ):
        History(path)
    assert snapshot() == before and before[0] == SCHEMA_VERSION and len(before[2]) == 1
    monkeypatch.undo()
    with History(path) as h:
        assert [e.result for e in h.search()] == ["ⴰⵣⵓⵍ"]


WRITER = """
import sys
from tmz.runtime.history import History
from tmz.runtime.translation import Translation

h = History(sys.argv[1])
big = "ⵜ" * 20000  # ~60 KB of UTF-8 per row: the process spends its time inside writes (and WAL checkpoints)
i = 0
while True:
    h.add(Translation(text=big, origin="model", direction="en_Latn->zgh_Tfng", source_language="en",
                      source_script="Latn", target_language="zgh", target_script="Tfng", dialect=None,
                      source_text=f"t{i}", latency_s=0.1, bundle_sha256=None))
    print(f"committed t{i}", flush=True)
    i += 1
"""


def test_a_writer_killed_mid_loop_loses_no_committed_row(tmp_path):
    path = tmp_path / "history.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITER), str(path)], stdout=subprocess.PIPE, text=True
    )
    reported = []
    try:
        while len(reported) < 40:
            line = proc.stdout.readline()
            assert line.startswith("committed "), f"writer stopped: {line!r}"
            reported.append(line.split()[1])
        proc.send_signal(signal.SIGKILL)  # while it is writing the next rows
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.stdout.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with History(path) as h:
        stored = [e.source_text for e in reversed(h.search(limit=None))]
        assert all(e.result == "ⵜ" * 20000 for e in h.search(limit=None))
    assert stored[: len(reported)] == reported  # every reported row, in order; at most a few more got in
    assert stored == [f"t{i}" for i in range(len(stored))]
