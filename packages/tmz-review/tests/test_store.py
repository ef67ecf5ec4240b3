"""The review database: schema migrations, WAL, hashed tokens, one judgement per reviewer and item."""

from __future__ import annotations

import sqlite3

import pytest

from tmz.review.errors import ReviewerError, ReviewStoreError
from tmz.review.store import SCHEMA_VERSION, Store

from .test_app import make_item


def test_a_new_database_is_migrated_and_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "review.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ReviewStoreError, match="newer than this tmz-review"):
        Store(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "review.sqlite"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(ReviewStoreError, match="cannot open the review database"):
        Store(path)


def test_tokens_are_stored_only_as_hashes(store):
    token = store.add_reviewer("Itto")
    assert len(token) >= 32 and store.reviewer_by_token(token)[1] == "Itto"
    assert store.reviewer_by_token(token + "x") is None
    with pytest.raises(ReviewerError, match="exists; pass --new-token"):
        store.add_reviewer("Itto")
    cookie, _ = store.new_session(store.reviewer_by_token(token)[0])
    fresh = store.add_reviewer("Itto", new_token=True)
    assert store.reviewer_by_token(token) is None and store.reviewer_by_token(fresh)[1] == "Itto"
    assert store.session(cookie) is None  # a new token signs the reviewer out everywhere
    with pytest.raises(ReviewerError, match="no reviewer 'Yuba'"):
        store.add_reviewer("Yuba", new_token=True)
    store.close()  # the WAL is checkpointed into the file
    raw = store.path.read_bytes()
    assert token.encode() not in raw and fresh.encode() not in raw and cookie.encode() not in raw


def test_items_are_stored_once_and_judged_once_per_reviewer(store):
    items = [make_item("One."), make_item("Two.")]
    store.add_items(items)
    store.add_items(items)
    ids = store.ids(it.key for it in items)
    assert store.known([items[0].key, "nope"]) == {items[0].key}
    assert store.item(ids[1]).source_text == "Two." and store.item(999) is None
    token = store.add_reviewer("Itto")
    reviewer = store.reviewer_by_token(token)[0]
    common = dict(bundle_sha256="ab" * 32, prompt_format="tmz-v1", direction="en_Latn->zgh_Tfng")
    store.judge(
        ids[0], reviewer, adequacy=2, fluency=3, errors=["omission"], correction="ⴰⵎⴰⵏ ⵉⵣⴷⴷⴰⴳⵏ", **common
    )
    store.judge(ids[0], reviewer, adequacy=4, fluency=4, errors=[], correction=None, **common)
    [(j, item)] = store.judgements()
    assert (j.adequacy, j.errors, j.correction, item.id) == (4, (), None, ids[0])
    assert store.judged(reviewer) == {ids[0]}


def test_a_judgement_survives_a_second_connection(tmp_path):
    """Each judgement is committed as it is made: another process sees it at once."""
    with Store(tmp_path / "review.sqlite") as a:
        a.add_items([make_item("One.")])
        [item_id] = a.ids([make_item("One.").key])
        reviewer = a.reviewer_by_token(a.add_reviewer("Itto"))[0]
        a.judge(item_id, reviewer, adequacy=5, fluency=5, errors=[], correction=None, bundle_sha256="ab" * 32,
                prompt_format="tmz-v1", direction="en_Latn->zgh_Tfng")  # fmt: skip
        with Store(tmp_path / "review.sqlite") as b:
            assert len(b.judgements()) == 1
