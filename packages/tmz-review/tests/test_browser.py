"""The review page in a real browser (Debian's chromium, driven by Playwright): sign in, rate, tag and correct
with the keyboard, type a Tifinagh letter on the on-screen keyboard, kill the server, export the correction."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmz.core.manifest import sha256_file
from tmz.review.keyboard import KEYS
from tmz.review.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: The README's screenshot; the test refreshes it only when asked (TMZ_UPDATE_SCREENSHOT=1), never in CI.
README_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "review-page.png"
TMZ = Path(sys.executable).with_name("tmz")


def require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    message = f"{CHROMIUM} is missing: install it with `apt-get install chromium` (Debian's package)"
    if os.environ.get("TMZ_ALLOW_NO_BROWSER") == "1":
        pytest.skip(message)
    pytest.fail(message + "; or set TMZ_ALLOW_NO_BROWSER=1 to skip the browser tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(server: subprocess.Popen, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}: {server.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not listen on port {port} within {timeout} s")


@pytest.fixture
def server(tmp_path, bundle, batch_run):
    """``tmz review serve`` on a free port, a reviewer's token, and the database; killed (SIGKILL) at the end."""
    db = tmp_path / "review.sqlite"
    with Store(db) as store:
        token = store.add_reviewer("Tifawt")
    port = free_port()
    proc = subprocess.Popen(
        [str(TMZ), "review", "--db", str(db), "serve", str(bundle), "--data", str(batch_run), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(proc, port)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "db": db, "proc": proc}
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_review_in_the_browser_reaches_the_export(server, bundle, tmp_path):
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 900}, locale="en-GB")
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))

        page.goto(server["url"] + "/")
        expect(page).to_have_url(server["url"] + "/login")
        page.keyboard.type(server["token"])  # the token field has the focus
        page.keyboard.press("Enter")
        expect(page.locator("#source")).to_have_text("Drink clean water.")
        expect(page.locator("#translation")).to_have_text("ⵙⵓ ⴰⵎⴰⵏ.")

        # ratings and an error tag from the keyboard: 3 = adequacy 3, Shift+4 = fluency 4, Alt+o = omission
        page.keyboard.press("Digit3")
        page.keyboard.press("Shift+Digit4")
        page.keyboard.press("Alt+o")
        expect(page.locator('input[name="adequacy"][value="3"]')).to_be_checked()
        expect(page.locator('input[name="fluency"][value="4"]')).to_be_checked()
        expect(page.locator('input[value="omission"]')).to_be_checked()

        # the correction: typed, with ⵚ from the on-screen keyboard (reached with the arrow keys, typed with Enter)
        page.keyboard.press("Alt+c")
        page.keyboard.press("Control+a")
        page.keyboard.type("ⵙⵓ ⴰⵎⴰⵏ ⵉ")
        page.keyboard.press("Alt+k")
        for _ in range([letter for letter, _ in KEYS].index("ⵚ")):
            page.keyboard.press("ArrowRight")
        expect(page.locator(".tfng-key:focus")).to_have_attribute("data-letter", "ⵚ")
        page.keyboard.press("Enter")
        page.keyboard.press("Alt+c")
        page.keyboard.press("End")
        page.keyboard.type("ⴼⴰⵏ.")
        corrected = "ⵙⵓ ⴰⵎⴰⵏ ⵉⵚⴼⴰⵏ."
        expect(page.locator("#correction")).to_have_value(corrected)
        shot = (
            README_SCREENSHOT
            if os.environ.get("TMZ_UPDATE_SCREENSHOT") == "1"
            else tmp_path / "review-page.png"
        )
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000  # a rendered page, not a blank one

        page.keyboard.press("Control+Enter")
        expect(page.locator(".saved")).to_contain_text("saved")
        # the next item is Arabic: right to left
        source = page.locator("#source")
        expect(source).to_have_text("اغسل يديك بالماء.")
        expect(source).to_have_attribute("dir", "rtl")
        expect(source).to_have_attribute("lang", "ar-Arab")
        page.keyboard.press("Digit5")
        page.keyboard.press("Shift+Digit5")
        page.keyboard.press("Enter")  # on the focused rating: saves, unchanged and untagged: an approval
        expect(page.locator("#source")).to_have_text("La pharmacie est fermée.")
        browser.close()
    assert not problems, problems

    server["proc"].send_signal(signal.SIGKILL)  # nothing may be lost: each judgement was committed
    server["proc"].wait(timeout=10)
    out = tmp_path / "review.csv"
    done = subprocess.run(
        [str(TMZ), "review", "--db", str(server["db"]), "export", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    by_status = {r["status"]: r for r in rows}
    assert set(by_status) == {"corrected", "approved"}
    fix = by_status["corrected"]
    assert fix["target_text"] == corrected and fix["source_text"] == "Drink clean water."
    assert (fix["source_language"], fix["target_language"]) == ("en_Latn", "zgh_Tfng")
    assert fix["reviewers"] == "Tifawt" and fix["bundle_sha256"] == sha256_file(bundle)
    assert fix["model_text"] == "ⵙⵓ ⴰⵎⴰⵏ." and fix["prompt_format"] == "tmz-v1"
    assert by_status["approved"]["target_text"] == "ⵙⵉⵔⴷ ⴰⴼⵓⵙ."
