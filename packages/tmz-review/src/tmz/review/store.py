"""The review database in SQLite (WAL, one commit per judgement), with migrations through ``PRAGMA user_version``.

Reviewers keep only the sha256 of their token; sessions keep only the sha256 of their cookie, with the CSRF
token of each. One connection per Store, guarded by a lock, so the server's threads can share it; other
processes (``tmz review export`` while the server runs) read the same file through WAL.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from tmz.core.sqlite import migrate as migrate_schema
from tmz.review.errors import ReviewerError, ReviewStoreError
from tmz.review.item import Item
from tmz.review.judgement import Judgement

#: Each entry upgrades the schema by one version; never edit a released one, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE reviewers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_sha256 TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id_sha256 TEXT PRIMARY KEY,
        reviewer_id INTEGER REFERENCES reviewers (id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        origin TEXT NOT NULL CHECK (origin IN ('model', 'phrasebook')),
        direction TEXT NOT NULL,
        source_language TEXT NOT NULL,
        source_script TEXT NOT NULL,
        target_language TEXT NOT NULL,
        target_script TEXT NOT NULL,
        source_text TEXT NOT NULL,
        text TEXT NOT NULL,
        dialect TEXT,
        variety TEXT NOT NULL,
        domain TEXT,
        reference TEXT,
        bundle_sha256 TEXT,
        phrase_set TEXT,
        phrase_id TEXT,
        row_id TEXT,
        added TEXT NOT NULL
    );
    CREATE TABLE judgements (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items (id),
        reviewer_id INTEGER NOT NULL REFERENCES reviewers (id),
        created TEXT NOT NULL,
        adequacy INTEGER NOT NULL CHECK (adequacy BETWEEN 1 AND 5),
        fluency INTEGER NOT NULL CHECK (fluency BETWEEN 1 AND 5),
        errors TEXT NOT NULL,
        correction TEXT,
        bundle_sha256 TEXT NOT NULL,
        prompt_format TEXT NOT NULL,
        direction TEXT NOT NULL,
        UNIQUE (item_id, reviewer_id)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_ITEM_COLUMNS = tuple(f.name for f in fields(Item) if f.name != "id")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def migrate(conn: sqlite3.Connection, where: str) -> int:
    """Bring a database to SCHEMA_VERSION; refuses one written by a newer tmz-review."""
    return migrate_schema(
        conn,
        MIGRATIONS,
        where,
        "review",
        "tmz-review",
        ReviewStoreError,
        "upgrade tmz-review or pass another --db",
    )


class Store:
    """Reviewers, sessions, items and judgements of one review database."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            migrate(self._conn, str(self.path))
        except sqlite3.DatabaseError as e:
            raise ReviewStoreError(
                f"{self.path}: cannot open the review database ({e}); move it aside or pass another --db"
            ) from e
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.Error as e:
                raise ReviewStoreError(f"{self.path}: {e}") from e

    # -- reviewers and sessions ---------------------------------------------------------------------
    def add_reviewer(self, name: str, *, new_token: bool = False) -> str:
        """Create reviewer ``name`` (or, with ``new_token``, replace their token); returns the token."""
        name = name.strip()
        if not name:
            raise ReviewerError("a reviewer needs a name")
        token = secrets.token_urlsafe(24)
        if new_token:
            cur = self._run("UPDATE reviewers SET token_sha256 = ? WHERE name = ?", (_sha256(token), name))
            if cur.rowcount == 0:
                raise ReviewerError(f"{self.path}: no reviewer {name!r}; add them without --new-token")
            self._run(
                "DELETE FROM sessions WHERE reviewer_id = (SELECT id FROM reviewers WHERE name = ?)", (name,)
            )
            return token
        try:
            self._run(
                "INSERT INTO reviewers (name, token_sha256, created) VALUES (?, ?, ?)",
                (name, _sha256(token), _now()),
            )
        except ReviewStoreError as e:
            if "UNIQUE" in str(e):
                raise ReviewerError(
                    f"{self.path}: reviewer {name!r} exists; pass --new-token to give them a new token"
                ) from None
            raise
        return token

    def reviewers(self) -> list[str]:
        return [r["name"] for r in self._run("SELECT name FROM reviewers ORDER BY name")]

    def reviewer_by_token(self, token: str) -> tuple[int, str] | None:
        """(id, name) of the reviewer holding ``token``."""
        row = self._run("SELECT id, name FROM reviewers WHERE token_sha256 = ?", (_sha256(token),)).fetchone()
        return (row["id"], row["name"]) if row else None

    def new_session(self, reviewer_id: int | None = None) -> tuple[str, str]:
        """A new session (anonymous, or of a reviewer): (cookie value, CSRF token)."""
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._run(
            "INSERT INTO sessions (id_sha256, reviewer_id, csrf, created) VALUES (?, ?, ?, ?)",
            (_sha256(session), reviewer_id, csrf, _now()),
        )
        return session, csrf

    def session(self, cookie: str) -> tuple[int | None, str | None, str] | None:
        """(reviewer id, reviewer name, CSRF token) of a session cookie; None when it is not one."""
        row = self._run(
            "SELECT s.reviewer_id, r.name, s.csrf FROM sessions s LEFT JOIN reviewers r ON r.id = s.reviewer_id"
            " WHERE s.id_sha256 = ?",
            (_sha256(cookie),),
        ).fetchone()
        return (row["reviewer_id"], row["name"], row["csrf"]) if row else None

    def end_session(self, cookie: str) -> None:
        self._run("DELETE FROM sessions WHERE id_sha256 = ?", (_sha256(cookie),))

    # -- items ----------------------------------------------------------------------------------------
    def known(self, keys: Iterable[str]) -> set[str]:
        """Which of these item keys are stored already."""
        keys = list(keys)
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            sql = f"SELECT key FROM items WHERE key IN ({', '.join('?' * len(chunk))})"
            found |= {r["key"] for r in self._run(sql, tuple(chunk))}
        return found

    def add_items(self, items: Iterable[Item]) -> None:
        """Store the items not stored yet, in one transaction."""
        columns = ", ".join((*_ITEM_COLUMNS, "key", "added"))
        marks = ", ".join("?" * (len(_ITEM_COLUMNS) + 2))
        now = _now()
        with self._lock:
            try:
                with self._conn:
                    self._conn.execute("BEGIN")
                    for item in items:
                        values = (*(getattr(item, c) for c in _ITEM_COLUMNS), item.key, now)
                        self._conn.execute(
                            f"INSERT INTO items ({columns}) VALUES ({marks}) ON CONFLICT (key) DO NOTHING",
                            values,
                        )
            except sqlite3.Error as e:
                raise ReviewStoreError(f"{self.path}: storing review items failed ({e})") from e

    def ids(self, keys: Iterable[str]) -> list[int]:
        """The ids of stored items, in the order of their keys."""
        keys = list(keys)
        found: dict[str, int] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            sql = f"SELECT id, key FROM items WHERE key IN ({', '.join('?' * len(chunk))})"
            found |= {r["key"]: r["id"] for r in self._run(sql, tuple(chunk))}
        return [found[k] for k in keys]

    def item(self, item_id: int) -> Item | None:
        row = self._run(
            f"SELECT id, {', '.join(_ITEM_COLUMNS)} FROM items WHERE id = ?", (item_id,)
        ).fetchone()
        return Item(**dict(row)) if row else None

    def judged(self, reviewer_id: int) -> set[int]:
        """The ids of the items this reviewer has judged."""
        return {
            r["item_id"]
            for r in self._run("SELECT item_id FROM judgements WHERE reviewer_id = ?", (reviewer_id,))
        }

    # -- judgements -----------------------------------------------------------------------------------
    def judge(
        self, item_id: int, reviewer_id: int, *, adequacy: int, fluency: int, errors: Iterable[str],
        correction: str | None, bundle_sha256: str, prompt_format: str, direction: str,
    ) -> None:  # fmt: skip
        """Record (or replace) a reviewer's judgement of an item; committed when this returns."""
        self._run(
            "INSERT INTO judgements (item_id, reviewer_id, created, adequacy, fluency, errors, correction,"
            " bundle_sha256, prompt_format, direction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (item_id, reviewer_id) DO UPDATE SET created = excluded.created,"
            " adequacy = excluded.adequacy, fluency = excluded.fluency, errors = excluded.errors,"
            " correction = excluded.correction, bundle_sha256 = excluded.bundle_sha256,"
            " prompt_format = excluded.prompt_format, direction = excluded.direction",
            (item_id, reviewer_id, _now(), adequacy, fluency, json.dumps(sorted(set(errors))), correction,
             bundle_sha256, prompt_format, direction),
        )  # fmt: skip

    def judgements(self, item_id: int | None = None) -> list[tuple[Judgement, Item]]:
        """Every judgement (of one item, or of all) with the item it judges, by item then reviewer."""
        rows = self._run(
            f"SELECT j.*, r.name AS reviewer, {', '.join(f'i.{c} AS item_{c}' for c in ('id', *_ITEM_COLUMNS))}"
            " FROM judgements j JOIN reviewers r ON r.id = j.reviewer_id JOIN items i ON i.id = j.item_id"
            + (" WHERE j.item_id = ?" if item_id is not None else "")
            + " ORDER BY j.item_id, r.name",
            () if item_id is None else (item_id,),
        ).fetchall()
        out = []
        for r in rows:
            judgement = Judgement(
                item_id=r["item_id"], reviewer=r["reviewer"], created=r["created"], adequacy=r["adequacy"],
                fluency=r["fluency"], errors=tuple(json.loads(r["errors"])), correction=r["correction"],
                bundle_sha256=r["bundle_sha256"], prompt_format=r["prompt_format"], direction=r["direction"],
            )  # fmt: skip
            item = Item(**{c: r[f"item_{c}"] for c in ("id", *_ITEM_COLUMNS)})
            out.append((judgement, item))
        return out
