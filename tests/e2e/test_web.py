"""The web UI in headless Chromium (Debian's), against a real ``copyseal serve``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copyseal.core.trust import TrustRoot
from tests.e2e.server_support import CHROMIUM, CHROMIUM_ARGS, running_server
from tests.e2e.test_trust_cli import make_log

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

PASSWORD = "correct horse battery staple"
POEM = "Light rain on the window\nthe cat asleep on the sill\na kettle hums low"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("web") / "home", "--no-rate-limit") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, base: str) -> Iterator[Any]:
    context = browser.new_context(base_url=base, accept_downloads=True)
    yield context.new_page()
    context.close()


def sign_up(page: Any, username: str) -> None:
    page.goto("/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/dashboard?welcome=1")


def register_paste(page: Any, text: str, title: str) -> str:
    page.goto("/")
    page.get_by_label("Paste text").fill(text)
    page.get_by_label("Title").fill(title)
    page.locator("#register-form").get_by_role("button", name="Register").click()
    page.wait_for_url("**/certificates/**")
    return str(page.url.split("/certificates/")[1].split("?")[0])


def test_sign_up_log_out_and_log_in(page: Any) -> None:
    sign_up(page, "webalice")
    assert page.get_by_role("heading", name="Hello, webalice").is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: url.rstrip("/").endswith(("127.0.0.1", "")) or "/" in url)
    page.goto("/login")
    page.get_by_label("Username").fill("webalice")
    page.get_by_label("Password").fill("wrong password!!")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("wrong username or password").is_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")
    assert page.get_by_role("heading", name="Hello, webalice").is_visible()


def test_register_by_paste_then_open_certificate_and_download_pdf(
    page: Any, tmp_path: Path
) -> None:
    sign_up(page, "webbob")
    work_id = register_paste(page, POEM, "Kettle")
    assert page.get_by_text("Registered.").is_visible()
    assert page.get_by_role("heading", name="Kettle").is_visible()
    assert page.get_by_text("Verified: every check passed").is_visible()
    assert page.locator("svg.qr").count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "cert.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF") and work_id in info.value.suggested_filename
    with page.expect_download() as info:
        page.get_by_role("link", name="Download JSON").click()
    cert = json.loads(Path(info.value.path()).read_bytes())
    assert cert["work_id"] == work_id
    page.goto("/dashboard")
    assert page.get_by_role("link", name=work_id).is_visible()


def test_register_by_file_drop(page: Any) -> None:
    sign_up(page, "webcarol")
    page.goto("/")
    data = page.evaluate_handle(
        """() => {
            const dt = new DataTransfer();
            dt.items.add(new File(["A dropped poem, line by line."], "dropped.txt",
                                  {type: "text/plain"}));
            return dt;
        }"""
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": data})
    assert page.get_by_text("Chosen: dropped.txt").is_visible()
    page.locator("#register-form").get_by_role("button", name="Register").click()
    page.wait_for_url("**/certificates/**")
    assert page.get_by_text("text/plain; charset=utf-8, 29 bytes").is_visible()


def test_verify_a_good_and_a_tampered_certificate(page: Any, tmp_path: Path) -> None:
    sign_up(page, "webdave")
    work_id = register_paste(page, "Verify me, please.", "To verify")
    cert_bytes = page.request.get(f"/certificates/{work_id}.json").body()
    good = tmp_path / "good.cert.json"
    good.write_bytes(cert_bytes)
    content = tmp_path / "content.txt"
    content.write_bytes(b"Verify me, please.")
    page.goto("/verify")
    page.get_by_label("Certificate (.cert.json)").set_input_files(good)
    page.get_by_label("The registered file").set_input_files(content)
    page.get_by_role("button", name="Verify").click()
    verdict = page.locator("#verdict")
    verdict.get_by_role("heading", name="Valid certificate").wait_for()
    assert verdict.get_by_text("Content matches the registered hash").is_visible()

    doc = json.loads(cert_bytes)
    doc["entry"]["leaf"]["claim"]["body"]["title"] = "Someone else's title"
    bad = tmp_path / "tampered.cert.json"
    bad.write_text(
        json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"
    )
    page.get_by_label("Certificate (.cert.json)").set_input_files(bad)
    page.get_by_role("button", name="Verify").click()
    verdict.get_by_role("heading", name="Not valid: a check failed").wait_for()
    assert verdict.get_by_text("FAILED").first.is_visible()


def test_verify_shows_a_certificate_of_an_untrusted_log(page: Any, tmp_path: Path) -> None:
    _, vkey, cert = make_log(tmp_path, "elsewhere", "elsewhere.test/log")
    published = page.request.get("/.well-known/copyseal/trust.json").body()
    root_id = TrustRoot.from_json(published).root_id
    page.goto("/verify")
    page.get_by_label("Certificate (.cert.json)").set_input_files(cert)
    page.get_by_role("button", name="Verify").click()
    verdict = page.locator("#verdict")
    verdict.get_by_role("heading", name="Not valid: log key not trusted").wait_for()
    assert verdict.get_by_text(vkey.split("+")[1], exact=True).first.is_visible()
    trust = verdict.locator("#trust-root")
    assert f"Trust root {root_id}" in trust.inner_text()


def test_verify_works_without_javascript(browser: Any, base: str, tmp_path: Path) -> None:
    context = browser.new_context(base_url=base, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_up(page, "webnojs")
        work_id = register_paste(page, "No scripts needed.", "Plain")
        cert = tmp_path / "c.json"
        cert.write_bytes(page.request.get(f"/certificates/{work_id}.json").body())
        page.goto("/verify")
        page.get_by_label("Certificate (.cert.json)").set_input_files(cert)
        page.get_by_role("button", name="Verify").click()
        page.get_by_role("heading", name="Valid certificate").wait_for()
    finally:
        context.close()


def test_search_finds_an_edited_copy(page: Any) -> None:
    sign_up(page, "weberin")
    original = (
        "The lighthouse keeper counts the ships at dusk, one lamp for every sail "
        "that never came home, and the sea keeps the tally in salt."
    )
    work_id = register_paste(page, original, "Lighthouse")
    edited = original.replace("counts", "numbers").replace("salt", "salt and foam") + " Indeed."
    page.goto("/search")
    page.get_by_label("Paste text").fill(edited)
    page.get_by_role("button", name="Find the owner").click()
    matches = page.locator("#matches")
    matches.get_by_role("link", name="Lighthouse").wait_for()
    assert matches.get_by_text(work_id).is_visible()
    matches.get_by_text("Compare side by side").first.click()
    assert matches.locator("mark").count() >= 1


def test_dashboard_title_search_swaps_the_list_alone(page: Any) -> None:
    sign_up(page, "webfinn")
    register_paste(page, "A heron stands in the reeds.", "Heron")
    register_paste(page, "The moth and the lamp.", "Moth")
    page.goto("/dashboard")
    listing = page.locator("#works-list")
    with page.expect_response(lambda r: "/dashboard?q=" in r.url) as answered:
        page.get_by_label("Search my works by title").fill("Heron")
    assert answered.value.status == 200
    listing.get_by_text("Moth").wait_for(state="detached")
    assert listing.get_by_text("Heron").is_visible()
    # The list holds a table of works, not a second page inside the first.
    assert page.locator("header.site").count() == 1
    assert page.get_by_role("heading", name="Hello, webfinn").count() == 1
    assert listing.locator("h1, h2, form").count() == 0


def test_a_pasted_poem_is_registered_with_lf_and_its_bytes_verify(
    page: Any, tmp_path: Path
) -> None:
    sign_up(page, "webgwen")
    poem = "Frost on the gate\nthe dog's breath a small cloud\nthe postman is late"
    work_id = register_paste(page, poem, "Frost")  # the browser sends the lines with CRLF
    size = len(poem.encode())
    said = f"registered as UTF-8 text with LF line endings, {size} bytes"
    assert page.get_by_text(said).first.is_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download content").click()
    content = tmp_path / info.value.suggested_filename
    info.value.save_as(content)
    assert content.name == f"{work_id}.txt" and content.read_bytes() == poem.encode()
    cert = tmp_path / "frost.cert.json"
    cert.write_bytes(page.request.get(f"/certificates/{work_id}.json").body())
    page.goto("/verify")
    page.get_by_label("Certificate (.cert.json)").set_input_files(cert)
    page.get_by_label("The registered file").set_input_files(content)
    page.get_by_role("button", name="Verify").click()
    verdict = page.locator("#verdict")
    verdict.get_by_role("heading", name="Valid certificate").wait_for()
    assert verdict.get_by_text("Content matches the registered hash: passed").is_visible()
    assert verdict.get_by_text("normalising").count() == 0  # the exact bytes, as registered
