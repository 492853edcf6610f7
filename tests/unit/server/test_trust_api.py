"""The service's trust root: published at /.well-known/copyseal/trust.json, and the root its
verify endpoint, verify page and PDF certificates stand on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.home import TRUST_FILE, Home, save_trust_file
from copyseal.adapters.trust_client import fetch_trust_root, trust_root_url
from copyseal.core.note import ALG_COSIGNATURE_V1, NoteSigner
from copyseal.core.trust import TrustedLog, TrustRoot
from copyseal.errors import InvalidInput, NotFound
from copyseal.server.deps import Settings
from tests.unit.server.conftest import make_client
from tests.unit.server.test_read_api import register
from tests.unit.server.test_register_api import assert_problem

WITNESS = NoteSigner("witness.test/w1", b"\x31" * 32, alg=ALG_COSIGNATURE_V1).verifier


def other_log(tmp_path: Path, name: str, origin: str) -> tuple[Home, bytes]:
    """A certificate issued by another home's log (its own key)."""
    seed = name.encode().ljust(32, b"-")
    home = Home.init(tmp_path / name, origin=origin, log_seed=seed, creator_seed=b"\x06" * 32)
    with make_client(home.path) as elsewhere:
        [work_id] = register(elsewhere, [f"from {name}"])
        return home, elsewhere.get(f"/certificates/{work_id}.json").content


def verify(client: TestClient, cert: bytes, **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/verify", files={"certificate": ("c.json", cert)}, headers=headers)


def test_the_service_publishes_its_own_trust_root(home: Home) -> None:
    home.config["witnesses"] = [{"url": "http://127.0.0.1:1", "vkey": WITNESS.to_vkey()}]
    home.save_config()
    settings = Settings(public_url="https://seal.example/")
    with make_client(home.path, settings=settings) as client:
        response = client.get("/.well-known/copyseal/trust.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache"
    root = TrustRoot.from_json(response.content)
    assert root.logs == (TrustedLog.of(home.log_signer.verifier, "https://seal.example"),)
    assert root.witnesses == (WITNESS,) and root.quorum == 1
    assert root.chains == ()  # no anchoring configured (tests/unit/services/test_trust.py)
    assert response.content == root.to_json()  # canonical, as its ID is computed


def test_verify_names_the_trust_root_it_used(client: TestClient, home: Home) -> None:
    [work_id] = register(client, ["trusted by the service"])
    cert = client.get(f"/certificates/{work_id}.json").content
    published = TrustRoot.from_json(client.get("/.well-known/copyseal/trust.json").content)
    body = verify(client, cert).json()
    assert body["ok"]
    assert body["trust_root"]["id"] == published.root_id
    assert body["trust_root"]["logs"] == [
        {
            "origin": home.log_signer.name,
            "key_id": home.log_signer.verifier.key_id.hex(),
            "url": None,
        }
    ]
    assert body["trust_root"]["published"] == "/.well-known/copyseal/trust.json"


def test_a_certificate_of_an_untrusted_log_is_a_problem(
    client: TestClient, home: Home, tmp_path: Path
) -> None:
    other, cert = other_log(tmp_path, "other", "other.test/log")
    problem = assert_problem(verify(client, cert), 422, "untrusted-log")
    key_id = other.log_signer.verifier.key_id.hex()
    assert problem["title"] == "Log key not trusted"
    assert "log key not trusted" in problem["detail"] and key_id in problem["detail"]
    assert problem["key_id"] == key_id and problem["origin"] == "other.test/log"


def test_a_look_alike_log_is_named_by_both_key_ids(
    client: TestClient, home: Home, tmp_path: Path
) -> None:
    fake, cert = other_log(tmp_path, "fake", home.log_signer.name)
    problem = assert_problem(verify(client, cert), 422, "foreign-log")
    assert fake.log_signer.verifier.key_id.hex() in problem["detail"]
    assert home.log_signer.verifier.key_id.hex() in problem["detail"]


def test_the_homes_trust_json_adds_logs_to_what_the_service_trusts(
    home: Home, tmp_path: Path
) -> None:
    other, cert = other_log(tmp_path, "other", "other.test/log")
    save_trust_file(home.path / TRUST_FILE, TrustRoot((TrustedLog.of(other.log_signer.verifier),)))
    with make_client(home.path) as client:
        body = verify(client, cert).json()
        published = TrustRoot.from_json(client.get("/.well-known/copyseal/trust.json").content)
    assert body["ok"], body
    assert {log["origin"] for log in body["trust_root"]["logs"]} == {
        home.log_signer.name,
        "other.test/log",
    }
    # The service publishes only its own log: what it trusts is not what it vouches for.
    assert [log.verifier for log in published.logs] == [home.log_signer.verifier]
    assert body["trust_root"]["id"] != published.root_id


def test_the_roots_witness_quorum_applies(home: Home) -> None:
    home.config["witnesses"] = [{"url": "http://127.0.0.1:1", "vkey": WITNESS.to_vkey()}]
    home.save_config()
    with make_client(home.path) as client:
        [work_id] = register(client, ["not cosigned yet"])
        body = verify(client, client.get(f"/certificates/{work_id}.json").content).json()
    rows = {c["name"]: c for c in body["checks"]}
    assert not body["ok"]
    assert rows["witnesses"]["status"] == "failed" and "0 of the 1" in rows["witnesses"]["detail"]


def test_the_verify_page_says_which_root_and_shows_an_untrusted_log(
    client: TestClient, tmp_path: Path
) -> None:
    root_id = TrustRoot.from_json(client.get("/.well-known/copyseal/trust.json").content).root_id
    empty = client.get("/verify", headers={"accept": "text/html"}).text
    assert f"Trust root <code>{root_id}</code>" in empty
    other, cert = other_log(tmp_path, "other", "other.test/log")
    key_id = other.log_signer.verifier.key_id.hex()
    files = {"certificate": ("c.cert.json", cert)}
    for headers in ({"accept": "text/html"}, {"hx-request": "true"}):  # page, and htmx fragment
        page = client.post("/verify", files=files, headers=headers)
        assert page.status_code == 200
        assert "Not valid: log key not trusted" in page.text
        assert f"<code>{key_id}</code>" in page.text and "other.test/log" in page.text
        assert f"Trust root <code>{root_id}</code>" in page.text


def test_the_pdf_names_the_trust_root_and_where_to_get_it(client: TestClient) -> None:
    [work_id] = register(client, ["in a PDF"])
    root_id = TrustRoot.from_json(client.get("/.well-known/copyseal/trust.json").content).root_id
    pdf = client.get(f"/certificates/{work_id}.pdf").content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    assert f"trust root {root_id}" in flat
    assert "copyseal trust import https://testserver/.well-known/copyseal/trust.json" in flat


@pytest.mark.parametrize(
    ("site", "url"),
    [
        ("https://seal.example", "https://seal.example/.well-known/copyseal/trust.json"),
        ("https://seal.example/", "https://seal.example/.well-known/copyseal/trust.json"),
        ("https://seal.example/sub/", "https://seal.example/sub/.well-known/copyseal/trust.json"),
        ("http://127.0.0.1:8000/root.json", "http://127.0.0.1:8000/root.json"),
    ],
)
def test_the_trust_root_url_of_a_site(site: str, url: str) -> None:
    assert trust_root_url(site) == url


def test_fetching_a_services_trust_root_in_process(client: TestClient) -> None:
    published = TrustRoot.from_json(client.get("/.well-known/copyseal/trust.json").content)
    root, url = fetch_trust_root("https://testserver", client=client)
    assert root == published and url == "https://testserver/.well-known/copyseal/trust.json"
    with pytest.raises(NotFound):
        fetch_trust_root("https://testserver/elsewhere.json", client=client)
    with pytest.raises(InvalidInput):
        fetch_trust_root("file:///etc/passwd", client=client)


def test_the_qr_codes_page_checks_the_logs_certificate_against_the_root(home: Home) -> None:
    home.config["witnesses"] = [{"url": "http://127.0.0.1:1", "vkey": WITNESS.to_vkey()}]
    home.save_config()
    with make_client(home.path) as client:
        [work_id] = register(client, ["scanned from a PDF"])
        page = client.get(f"/verify/{work_id}", headers={"accept": "text/html"}).text
    assert "Not valid: a check failed" in page and "0 of the 1 witness cosignatures" in page
    assert "with cosignatures by 1 of" in page
