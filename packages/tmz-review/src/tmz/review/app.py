"""The review page: a Starlette app with Jinja2 templates (autoescaped), per-reviewer tokens and CSRF checks.

Reviewers sign in with their token; the session cookie (HttpOnly, SameSite=Strict) is stored hashed, with a
CSRF token that every form carries and every write checks. The client names items by their number only:
nothing it sends becomes a path, and only items of the data the server was started with can be judged.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tmz.review.item import Item
from tmz.review.judgement import ERROR_NAMES, ERROR_TAGS, RATINGS
from tmz.review.keyboard import KEYS
from tmz.review.scripts import lang_tag, text_dir
from tmz.review.store import Store

HERE = Path(__file__).resolve().parent
COOKIE = "tmz_review_session"
#: No inline script or style, no third-party anything, no framing, forms post only here.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ReviewConfig:
    """What one server reviews: the items (by id, in order) and the bundle and prompt format they belong to."""

    store: Store
    item_ids: tuple[int, ...]
    bundle_name: str
    bundle_sha256: str
    prompt_format: str


class BadRequest(Exception):
    """A form that cannot be accepted; the message is shown to the reviewer."""


def create_app(config: ReviewConfig) -> Starlette:
    """The review app over ``config``'s items."""
    store, served = config.store, set(config.item_ids)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.globals.update(
        lang_tag=lang_tag, text_dir=text_dir, error_tags=ERROR_TAGS, ratings=RATINGS, keys=KEYS
    )
    templates = Jinja2Templates(env=env)

    def page(
        request: Request, name: str, status: int = 200, cookie: str | None = None, **context: Any
    ) -> Response:
        response = templates.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)
        if cookie is not None:
            response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
        return response

    def session(request: Request) -> tuple[str, int | None, str | None, str] | None:
        """(cookie, reviewer id, reviewer name, CSRF token) of the request's session."""
        cookie = request.cookies.get(COOKIE)
        found = store.session(cookie) if cookie else None
        return (cookie, *found) if cookie and found else None

    async def checked_form(request: Request) -> tuple[FormData, tuple[str, int | None, str | None, str]]:
        """The posted form, once its CSRF token matches the session's; BadRequest otherwise."""
        form = await request.form()
        current = session(request)
        sent = form.get("csrf")
        if current is None or not isinstance(sent, str) or not secrets.compare_digest(sent, current[3]):
            raise BadRequest(
                "the form's security token does not match your session; reload the page and try again"
            )
        return form, current

    async def login_page(request: Request) -> Response:
        current = session(request)
        if current is not None and current[1] is not None:
            return RedirectResponse("/", status_code=303)
        if current is None:
            cookie, csrf = store.new_session()
            return page(request, "login.html", cookie=cookie, csrf=csrf, error=None)
        return page(request, "login.html", csrf=current[3], error=None)

    async def login(request: Request) -> Response:
        form, current = await checked_form(request)
        token = str(form.get("token") or "").strip()
        reviewer = store.reviewer_by_token(token) if token else None
        if reviewer is None:
            return page(request, "login.html", status=403, csrf=current[3],
                        error="unknown token; ask for the one `tmz review add-reviewer` printed for you")  # fmt: skip
        store.end_session(current[0])
        cookie, _ = store.new_session(reviewer[0])  # a fresh session: none fixed before sign-in survives it
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/")
        return response

    async def logout(request: Request) -> Response:
        _, current = await checked_form(request)
        store.end_session(current[0])
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    def item_number(value: object, field: str) -> int:
        try:
            number = int(str(value))
        except ValueError:
            raise BadRequest(f"{field} must be an item number") from None
        if number not in served:
            raise BadRequest(f"item {number} is not one this server reviews")
        return number

    async def review(request: Request) -> Response:
        current = session(request)
        if current is None or current[1] is None:
            return RedirectResponse("/login", status_code=303)
        _, reviewer_id, reviewer, csrf = current
        judged = store.judged(reviewer_id)
        done = sum(i in judged for i in config.item_ids)
        if "item" in request.query_params:
            item_id = item_number(request.query_params["item"], "item")
        else:
            after = request.query_params.get("after")
            start = config.item_ids.index(item_number(after, "after")) + 1 if after else 0
            order = (
                config.item_ids[start:] + config.item_ids[:start]
            )  # after the one just judged, then around
            pending = [i for i in order if i not in judged]
            if not pending:
                return page(request, "done.html", reviewer=reviewer, csrf=csrf, done=done, total=len(served))
            item_id = pending[0]
        item = store.item(item_id)
        assert item is not None
        others = [j for j, _ in store.judgements(item_id)]
        mine = next((j for j in others if j.reviewer == reviewer), None)
        return page(
            request, "review.html", item=item, mine=mine, reviewer=reviewer, csrf=csrf, done=done,
            total=len(served), position=config.item_ids.index(item_id) + 1, bundle=config.bundle_name,
            validated=sum(j.approved for j in others), saved=request.query_params.get("saved"),
        )  # fmt: skip

    async def judge(request: Request) -> Response:
        form, current = await checked_form(request)
        if current[1] is None:
            return RedirectResponse("/login", status_code=303)
        item_id = item_number(form.get("item"), "item")
        item = store.item(item_id)
        assert item is not None
        adequacy, fluency = rating(form, "adequacy"), rating(form, "fluency")
        errors = [str(e) for e in form.getlist("errors")]
        if unknown := sorted(set(errors) - set(ERROR_NAMES)):
            raise BadRequest(f"unknown error tag(s) {unknown}; use {list(ERROR_NAMES)}")
        await run_in_threadpool(
            store.judge, item_id, current[1], adequacy=adequacy, fluency=fluency, errors=errors,
            correction=correction(form, item), bundle_sha256=config.bundle_sha256,
            prompt_format=config.prompt_format, direction=item.direction,
        )  # fmt: skip
        return RedirectResponse(f"/?after={item_id}&saved={item_id}", status_code=303)

    async def bad_request(request: Request, exc: Exception) -> Response:
        return page(request, "error.html", status=400, message=str(exc))

    return Starlette(
        routes=[
            Route("/", review, methods=["GET"]),
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/judge", judge, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={BadRequest: bad_request},
    )


def rating(form: FormData, field: str) -> int:
    """A 1-5 rating from the form; BadRequest names the field when it is missing or out of range."""
    value = str(form.get(field) or "")
    if not value.isdigit() or int(value) not in RATINGS:
        raise BadRequest(f"rate {field} from 1 to 5")
    return int(value)


def correction(form: FormData, item: Item) -> str | None:
    """The reviewer's correction, or None when the translation was left as it is (or emptied)."""
    text = " ".join(str(form.get("correction") or "").split())
    return text if text and text != " ".join(item.text.split()) else None
