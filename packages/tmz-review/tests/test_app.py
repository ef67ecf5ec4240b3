"""The review app without a browser: sign-in, CSRF on every write, escaping, and items only of the data served."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tmz.review.app import ReviewConfig, create_app
from tmz.review.item import Item

SCRIPT = "<script>alert('x')</script>"


def make_item(source: str, text: str = "ⴰⵎⴰⵏ", **extra) -> Item:
    return Item(
        origin="model", direction="en_Latn->zgh_Tfng", source_language="en", source_script="Latn",
        target_language="zgh", target_script="Tfng", source_text=source, text=text, variety="zgh",
        bundle_sha256="ab" * 32, **extra,
    )  # fmt: skip


@pytest.fixture
def served(store):
    items = [make_item(f"Water {SCRIPT} for everyone."), make_item("Close the door.", "ⵔⴳⵍ ⵜⴰⵡⵡⵓⵔⵜ.")]
    store.add_items(items)
    ids = tuple(store.ids(it.key for it in items))
    store.add_items([make_item("Not served by this server.")])
    config = ReviewConfig(store, ids, "tiny.litertlm", "cd" * 32, "tmz-v1")
    return TestClient(create_app(config)), store, ids


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client: TestClient, store, name: str = "Itto") -> str:
    token = store.add_reviewer(name)
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf": csrf_of(page.text), "token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    return csrf_of(client.get("/").text)


def test_sign_in_needs_a_token_and_the_csrf_token(served):
    client, store, _ = served
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    page = client.get("/login")
    assert (
        "httponly" in page.headers["set-cookie"].lower()
        and "samesite=strict" in page.headers["set-cookie"].lower()
    )
    assert "script-src 'self'" in page.headers["content-security-policy"]
    token = store.add_reviewer("Itto")
    no_csrf = client.post("/login", data={"token": token})
    assert no_csrf.status_code == 400 and "security token" in no_csrf.text
    wrong = client.post("/login", data={"csrf": csrf_of(page.text), "token": "guess"})
    assert wrong.status_code == 403 and "unknown token" in wrong.text
    signed_in = client.post("/login", data={"csrf": csrf_of(page.text), "token": token})
    assert signed_in.status_code == 200 and "Water &lt;script&gt;" in signed_in.text


def test_every_write_checks_the_csrf_token(served):
    client, store, ids = served
    csrf = sign_in(client, store)
    form = {"item": str(ids[0]), "adequacy": "4", "fluency": "4", "correction": "ⴰⵎⴰⵏ"}
    assert client.post("/judge", data=form).status_code == 400
    assert client.post("/judge", data={**form, "csrf": "forged"}).status_code == 400
    assert store.judgements() == []
    other = TestClient(
        client.app
    )  # another browser, signed in as someone else: its token is not this session's
    other_csrf = sign_in(other, store, "Yuba")
    assert other_csrf != csrf and client.post("/judge", data={**form, "csrf": other_csrf}).status_code == 400
    assert client.post("/logout", data={}).status_code == 400
    assert client.post("/judge", data={**form, "csrf": csrf}, follow_redirects=False).status_code == 303
    assert len(store.judgements()) == 1


def test_text_comes_back_escaped(served):
    client, store, ids = served
    csrf = sign_in(client, store)
    page = client.get(f"/?item={ids[0]}").text
    assert SCRIPT not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    correction = f"ⴰⵎⴰⵏ {SCRIPT}"
    form = {"csrf": csrf, "item": str(ids[0]), "adequacy": "2", "fluency": "3", "correction": correction}
    client.post("/judge", data={**form, "errors": ["addition", "offensive"]})
    [(judgement, _)] = store.judgements()
    assert judgement.correction == correction and judgement.errors == ("addition", "offensive")
    page = client.get(f"/?item={ids[0]}").text  # the reviewer's own judgement, shown again
    assert SCRIPT not in page and "ⴰⵎⴰⵏ &lt;script&gt;" in page


def test_a_judgement_records_its_provenance(served):
    client, store, ids = served
    csrf = sign_in(client, store)
    form = {
        "csrf": csrf,
        "item": str(ids[1]),
        "adequacy": "5",
        "fluency": "5",
        "correction": " ⵔⴳⵍ  ⵜⴰⵡⵡⵓⵔⵜ. ",
    }
    response = client.post("/judge", data=form)
    assert "item 2 saved" in response.text  # and the next pending item is shown
    [(j, item)] = store.judgements()
    assert (j.reviewer, j.bundle_sha256, j.prompt_format, j.direction) == (
        "Itto",
        "cd" * 32,
        "tmz-v1",
        item.direction,
    )
    assert j.correction is None and j.approved  # the text left as it was (spacing aside): an approval
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", j.created)
    client.post("/judge", data={**form, "adequacy": "2", "correction": "ⵔⴳⵍ ⵜⴰⵡⵓⵔⵜ."})
    [(j, _)] = store.judgements()  # a second judgement of the same item replaces the first
    assert j.adequacy == 2 and j.correction == "ⵔⴳⵍ ⵜⴰⵡⵓⵔⵜ." and not j.approved


@pytest.mark.parametrize(
    "change, message",
    [
        ({"item": "3"}, "not one this server reviews"),
        ({"item": "../../etc/passwd"}, "must be an item number"),
        ({"adequacy": "6"}, "rate adequacy from 1 to 5"),
        ({"fluency": ""}, "rate fluency from 1 to 5"),
        ({"errors": "typo"}, "unknown error tag"),
    ],
)
def test_bad_forms_are_refused_with_a_reason(served, change, message):
    client, store, ids = served
    csrf = sign_in(client, store)
    form = {"csrf": csrf, "item": str(ids[0]), "adequacy": "3", "fluency": "3", **change}
    response = client.post("/judge", data=form)
    assert response.status_code == 400 and message in response.text
    assert store.judgements() == []
    assert client.get("/?item=3").status_code == 400


def test_only_the_static_folder_is_served(served):
    client, _, _ = served
    assert client.get("/static/review.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404
