"""Translation history and favourites in SQLite (WAL), with schema migrations through ``PRAGMA user_version``.

Each committed row survives a killed process (WAL, ``synchronous=NORMAL``: only a power loss can take
the last transactions). One connection per History, guarded by a lock, so threads may share it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import threading
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tmz.core.atomic import write_text_atomic
from tmz.runtime.errors import HistoryError

if TYPE_CHECKING:
    from tmz.runtime.translation import Translation

#: Each entry upgrades the schema by one version; never edit a released one, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE translations (
        id INTEGER PRIMARY KEY,
        created TEXT NOT NULL,
        direction TEXT NOT NULL,
        source_language TEXT,
        source_script TEXT,
        target_language TEXT NOT NULL,
        target_script TEXT NOT NULL,
        dialect TEXT,
        source_text TEXT,
        result TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('phrasebook', 'model')),
        bundle_sha256 TEXT,
        latency_s REAL NOT NULL,
        favourite INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX translations_created ON translations (created);
    """,
    """
    ALTER TABLE translations ADD COLUMN image_sha256 TEXT;
    CREATE INDEX translations_favourite ON translations (favourite) WHERE favourite = 1;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: What was translated: a text, or an image (whose row has no source text, and the image's sha256).
EntryKind = Literal["text", "image"]


def default_history_path() -> Path:
    """``$TMZ_HISTORY``, else ``$XDG_DATA_HOME/tmz/history.sqlite`` (``~/.local/share`` by default)."""
    if env := os.environ.get("TMZ_HISTORY"):
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "tmz" / "history.sqlite"


@dataclass(frozen=True)
class HistoryEntry:
    """One stored translation."""

    id: int
    created: str
    direction: str
    source_language: str | None
    source_script: str | None
    target_language: str
    target_script: str
    dialect: str | None
    source_text: str | None
    result: str
    origin: str
    bundle_sha256: str | None
    latency_s: float
    favourite: bool
    image_sha256: str | None


_COLUMNS = ", ".join(f.name for f in fields(HistoryEntry))


def migrate(conn: sqlite3.Connection, where: str) -> int:
    """Bring a database to SCHEMA_VERSION; refuses one written by a newer tmz-runtime."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise HistoryError(
            f"{where}: history schema version {current} is newer than this tmz-runtime's ({SCHEMA_VERSION}); "
            "upgrade tmz-runtime or use another --history file"
        )
    for version in range(current, SCHEMA_VERSION):
        try:  # one transaction per step: the DDL and the version bump land together or not at all
            conn.executescript(f"BEGIN; {MIGRATIONS[version]} PRAGMA user_version = {version + 1}; COMMIT;")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise HistoryError(
                f"{where}: upgrading the history schema to version {version + 1} failed ({e}); "
                f"the database is left as it was, at version {version}"
            ) from e
    return SCHEMA_VERSION


class History:
    """Translations with time, languages, text, result, origin, bundle sha256 and latency; search and favourites."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate(self._conn, str(self.path))
        except sqlite3.DatabaseError as e:
            raise HistoryError(
                f"{self.path}: cannot open the history database ({e}); move it aside or pick another"
            ) from e
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as e:
                raise HistoryError(f"{self.path}: {e}") from e

    def add(self, t: Translation) -> int:
        """Store one translation; returns its id (committed when this returns)."""
        cur = self._run(
            "INSERT INTO translations (created, direction, source_language, source_script, target_language,"
            " target_script, dialect, source_text, result, origin, bundle_sha256, latency_s, image_sha256)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="milliseconds"), t.direction, t.source_language,
                t.source_script, t.target_language, t.target_script, t.dialect, t.source_text, t.text,
                t.origin, t.bundle_sha256, t.latency_s, t.image_sha256,
            ),
        )  # fmt: skip
        return int(cur.lastrowid)

    def search(
        self,
        query: str | None = None,
        *,
        favourites: bool = False,
        language: str | None = None,
        kind: EntryKind | None = None,
        image_sha256: str | None = None,
        limit: int | None = 50,
    ) -> list[HistoryEntry]:
        """Newest first; ``query`` matches source or result text (substring), ``language`` either side, ``kind``
        text or image translations (an image's has no source text), ``image_sha256`` those of one image."""
        where, params = [], []
        if kind is not None:
            where.append(f"source_text IS {'NOT ' if kind == 'text' else ''}NULL")
        if image_sha256:
            where.append("image_sha256 = ?")
            params.append(image_sha256)
        if query:
            like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(source_text LIKE ? ESCAPE '\\' OR result LIKE ? ESCAPE '\\')")
            params += [like, like]
        if favourites:
            where.append("favourite = 1")
        if language:
            where.append("(source_language = ? OR target_language = ?)")
            params += [language, language]
        sql = f"SELECT {_COLUMNS} FROM translations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            HistoryEntry(**{**dict(r), "favourite": bool(r["favourite"])})
            for r in self._run(sql, tuple(params))
        ]

    def get(self, entry_id: int) -> HistoryEntry:
        row = self._run(f"SELECT {_COLUMNS} FROM translations WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise HistoryError(f"{self.path}: no history entry {entry_id}; list them with `tmz history list`")
        return HistoryEntry(**{**dict(row), "favourite": bool(row["favourite"])})

    def favourite(self, entry_id: int, on: bool = True) -> None:
        self.get(entry_id)
        self._run("UPDATE translations SET favourite = ? WHERE id = ?", (int(on), entry_id))

    def delete(self, entry_id: int) -> None:
        self.get(entry_id)
        self._run("DELETE FROM translations WHERE id = ?", (entry_id,))

    def clear(self, keep_favourites: bool = True) -> int:
        """Delete every entry (favourites kept unless told otherwise); returns how many went."""
        cur = self._run("DELETE FROM translations" + (" WHERE favourite = 0" if keep_favourites else ""))
        return cur.rowcount

    def export(
        self,
        out: str | os.PathLike[str],
        fmt: Literal["jsonl", "csv"] = "jsonl",
        favourites: bool = False,
        kind: EntryKind | None = None,
    ) -> int:
        """Write every entry (oldest first; only favourites, or one ``kind``, when asked) to ``out`` atomically;
        returns how many."""
        entries = list(reversed(self.search(favourites=favourites, kind=kind, limit=None)))
        if fmt == "jsonl":
            text = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries)
        else:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=[f.name for f in fields(HistoryEntry)])
            writer.writeheader()
            writer.writerows(asdict(e) for e in entries)
            text = buf.getvalue()
        write_text_atomic(out, text)
        return len(entries)
