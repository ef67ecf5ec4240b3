"""Translation history and favourites in SQLite (WAL), with schema migrations through ``PRAGMA user_version``.

Each committed row survives a killed process (WAL, ``synchronous=NORMAL``: only a power loss can take
the last transactions). One connection per History, guarded by a lock, so threads may share it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from tmz.core.atomic import write_text_atomic
from tmz.core.sqlite import migrate as migrate_schema
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
T = TypeVar("T")
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
    return migrate_schema(
        conn,
        MIGRATIONS,
        where,
        "history",
        "tmz-runtime",
        HistoryError,
        "upgrade tmz-runtime or use another --history file",
    )


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only, when it is not there: the history holds
    everything the user translated. SQLite gives its -wal and -shm files the database file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def tighten(path: Path) -> None:
    """Make a history file an older tmz left readable to others (0644) private."""
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        with contextlib.suppress(OSError):  # another user's file: theirs to tighten
            os.chmod(path, 0o600)


def check_ours(conn: sqlite3.Connection, where: str) -> None:
    """HistoryError for a SQLite database that is not a tmz history (another program's), before anything is
    written to it."""
    tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if (tables and "translations" not in tables) or (version and not tables):
        raise HistoryError(
            f"{where}: is another program's SQLite database (tables: {', '.join(tables) or 'none'}, schema "
            f"version {version}), not a tmz history; tmz leaves it as it is. Pass --history (or set TMZ_HISTORY) "
            "to another file"
        )


def unreadable(error: sqlite3.Error) -> bool:
    """SQLite's verdict that the file is damaged or not a database (not: locked, full, read-only)."""
    return getattr(error, "sqlite_errorname", None) in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def damaged(where: str, error: sqlite3.Error) -> str:
    """What to say about a history database SQLite cannot read."""
    return (
        f"{where}: the history database is damaged or not a SQLite database ({error}); move it aside and tmz "
        f"starts a new one (`sqlite3 {where} .recover` may save its rows), or pass --history / --no-history"
    )


class History:
    """Translations with time, languages, text, result, origin, bundle sha256 and latency; search and favourites."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            private_file(self.path)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise HistoryError(
                f"{self.path}: cannot create or open the history database ({e}); pass --history (or set "
                "TMZ_HISTORY) to a file in a folder you can write, or --no-history"
            ) from e
        try:
            check_ours(self._conn, str(self.path))
            tighten(self.path)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate(self._conn, str(self.path))
        except sqlite3.Error as e:
            self._conn.close()
            message = (
                damaged(str(self.path), e) if unreadable(e) else f"{self.path}: cannot open the history ({e})"
            )
            raise HistoryError(message) from e
        except HistoryError:
            self._conn.close()
            raise
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _locked(self, work: Callable[[], T]) -> T:
        with self._lock:
            try:
                return work()
            except sqlite3.Error as e:
                raise HistoryError(
                    damaged(str(self.path), e) if unreadable(e) else f"{self.path}: {e}"
                ) from e

    def _run(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        return self._locked(lambda: self._conn.execute(sql, params))

    def _rows(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        """Every row of a query, fetched under the lock (a damaged page can fail any fetch, not only the first)."""
        return self._locked(lambda: self._conn.execute(sql, params).fetchall())

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
            for r in self._rows(sql, tuple(params))
        ]

    def get(self, entry_id: int) -> HistoryEntry:
        rows = self._rows(f"SELECT {_COLUMNS} FROM translations WHERE id = ?", (entry_id,))
        row = rows[0] if rows else None
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
