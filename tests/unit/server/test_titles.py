"""Titles already in a log render safely on every page and in the PDF, while the API
returns them as logged; new titles with controls or bidi overrides are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.server.rendering import isolated
from tests.support import log_unadmitted, unchecked_claim
from tests.unit.server.conftest import csrf_of, make_client, sign_up
from tests.unit.server.test_read_api import FakeMatch, FakeSearch
from tests.unit.server.test_register_api import KEY_A

# Shows as "invoiceexe.jpg" (the override reverses what follows), then clears a terminal.
SPOOF = "invoice\u202egpj.exe\x1b[2J"
SHOWN = "invoice&lt;U+202E&gt;gpj.exe&lt;U+001B&gt;[2J"


def log_spoof(client: TestClient, signer=KEY_A, seed: int = 1) -> str:  # type: ignore[no-untyped-def]
    registry = client.app.state.services.registry  # type: ignore[attr-defined]
    [logged] = log_unadmitted(registry, [unchecked_claim(signer, seed, title=SPOOF)])
    return logged.certificate.work_id


def test_the_isolated_filter_sets_text_apart_and_spells_out_overrides() -> None:
    assert isolated(SPOOF) == f"<bdi>{SHOWN}</bdi>"
    assert isolated("<b>قصيدة</b>") == "<bdi>&lt;b&gt;قصيدة&lt;/b&gt;</bdi>"
    assert isolated(None) == "<bdi></bdi>"


def test_pages_and_pdf_show_a_logged_override_visibly_and_the_api_as_logged(
    client: TestClient,
) -> None:
    work_id = log_spoof(client)
    for path in (f"/certificates/{work_id}", f"/verify/{work_id}"):
        page = client.get(path, headers={"accept": "text/html"})
        assert page.status_code == 200, page.text
        assert f"<bdi>{SHOWN}</bdi>" in page.text, path
        assert "\u202e" not in page.text and "\x1b" not in page.text
    pdf = client.get(f"/certificates/{work_id}.pdf").content
    assert b"invoice<U+202E>gpj.exe<U+001B>[2J" in pdf  # the document's subject, as drawn
    assert client.get(f"/api/v1/works/{work_id}").json()["title"] == SPOOF


def test_the_dashboard_shows_a_logged_override_visibly(client: TestClient) -> None:
    sign_up(client, "lena")
    services = client.app.state.services  # type: ignore[attr-defined]
    account = services.accounts.store.account_by_username("lena")
    log_spoof(client, services.accounts.custodial_signer(account))
    page = client.get("/dashboard")
    assert f"<bdi>{SHOWN}</bdi>" in page.text and "\u202e" not in page.text


def test_search_results_show_a_logged_override_visibly(home: Home) -> None:
    search = FakeSearch([])
    with make_client(home.path, search=search) as client:
        work_id = log_spoof(client)
        work = client.get(f"/api/v1/works/{work_id}").json()
        search.matches = [
            FakeMatch(work_id, work["owner"], work["logged_at"], 0.9, "near-duplicate", True)
        ]
        page = client.post("/search", data={"text": "anything"}, headers={"accept": "text/html"})
        assert page.text.count(f"<bdi>{SHOWN}</bdi>") == 2
        assert "\u202e" not in page.text


def test_the_web_form_refuses_a_title_with_an_override(client: TestClient) -> None:
    sign_up(client, "mira")
    form = {"csrf": csrf_of(client.get("/").text), "text": "a poem", "title": SPOOF}
    page = client.post("/register", data=form, headers={"accept": "text/html"})
    assert page.status_code == 400
    assert "a title is one line of text" in page.text
    assert client.get("/api/v1/health").json()["tree_size"] == 0
