"""Starting a review: the items of the data given (translated by the bundle where needed), then the server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from tmz.core.manifest import sha256_file
from tmz.core.prompt import PROMPT_FORMAT_ID
from tmz.core.registry import Registry
from tmz.review.app import ReviewConfig, create_app
from tmz.review.errors import ReviewDataError
from tmz.review.item import Item
from tmz.review.sources import (
    Request,
    batch_items,
    is_batch_run,
    phrasebook_items,
    request_key,
    requests_of,
    translate,
)
from tmz.review.store import Store
from tmz.runtime.phrasebook import Phrasebook
from tmz.runtime.translator import Translator


@dataclass(frozen=True)
class Prepared:
    """The items one server reviews, and how many of them were new to the database."""

    config: ReviewConfig
    new: int
    phrases_skipped: int


def prepare(
    store: Store, registry: Registry, bundle: str | os.PathLike[str], data: list[Path], phrasebooks: list[Path],
    *, split: str = "test", directions: frozenset[str] = frozenset(), threads: int | None = None,
) -> Prepared:  # fmt: skip
    """Store the items of ``data`` and ``phrasebooks`` (translating with the bundle what no batch run holds)."""
    bundle = Path(bundle)
    if not bundle.is_file():
        raise ReviewDataError(
            f"{bundle}: no such bundle; pass the .task or .litertlm file the translations are of"
        )
    if not data and not phrasebooks:
        raise ReviewDataError(
            "nothing to review: pass --data (a dataset, corpus or batch run) or --phrasebook"
        )
    sha = sha256_file(bundle)
    items: list[Item] = []
    requests: list[Request] = []
    for path in data:
        if is_batch_run(path):
            items += batch_items(registry, path, sha)
        else:
            requests += requests_of(path, split)
    skipped = 0
    if phrasebooks:
        book_items, skipped = phrasebook_items(registry, Phrasebook.load(registry, phrasebooks))
        items += book_items
    keys = [it.key for it in items if not directions or it.direction in directions]
    items = [it for it in items if not directions or it.direction in directions]
    if requests:
        with Translator(bundle, registry=registry, threads=threads) as translator:
            wanted = [(r, *request_key(translator, r)) for r in requests]
            wanted = [(r, d, k) for r, d, k in wanted if not directions or d in directions]
            keys += [k for _, _, k in wanted]
            items += translate(translator, [r for r, _, k in wanted], store.known(k for _, _, k in wanted))
    if not keys:
        raise ReviewDataError(f"no item to review in the data given for the directions {sorted(directions)}")
    before = store.known(keys)
    store.add_items(items)
    ids = tuple(dict.fromkeys(store.ids(keys)))
    config = ReviewConfig(store, ids, bundle.name, sha, PROMPT_FORMAT_ID)
    return Prepared(config, len(set(keys) - before), skipped)


def run_server(config: ReviewConfig, host: str, port: int) -> None:
    """Serve the review page with uvicorn until interrupted."""
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", server_header=False)
