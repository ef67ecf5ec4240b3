"""Schema migrations of tmz's SQLite databases (the translation history, the review store).

A database records its schema version in ``PRAGMA user_version``; ``migrations[i]`` takes it from version ``i``
to ``i + 1``. Each step runs in one transaction with its version bump, so a failed step leaves the database as it
was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[str],
    where: str,
    what: str,
    owner: str,
    error: type[Exception],
    newer: str,
) -> int:
    """Bring the database at ``where`` to ``len(migrations)``; returns that version.

    ``what`` names the database in messages ("history", "review"), ``owner`` the distribution that writes it;
    ``error`` is the exception raised, and ``newer`` what to do about a database written by a newer release.
    """
    target = len(migrations)
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > target:
        raise error(
            f"{where}: {what} schema version {current} is newer than this {owner}'s ({target}); {newer}"
        )
    for version in range(current, target):
        try:  # one transaction per step: the DDL and the version bump land together or not at all
            conn.executescript(f"BEGIN; {migrations[version]} PRAGMA user_version = {version + 1}; COMMIT;")
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise error(
                f"{where}: upgrading the {what} schema to version {version + 1} failed ({e}); "
                f"the database is left as it was, at version {version}"
            ) from e
    return target
