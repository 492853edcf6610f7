"""Reading over the API: works and pagination, certificates, verification, log tiles and
proofs, the similarity check, and the rules every endpoint follows (problems, limits)."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.adapters.image_budget import DECODING
from copyseal.core import merkle
from copyseal.server.ratelimit import Rate, RateLimiter
from tests.unit.fingerprint.samples import sample_image
from tests.unit.server.conftest import api_token, make_client
from tests.unit.server.test_register_api import KEY_A, KEY_B, assert_problem, claim


def register(client: TestClient, texts: list[str], signer=KEY_A) -> list[str]:  # type: ignore[no-untyped-def]
    items = [{"claim": claim(signer, t, seed=i).to_dict()} for i, t in enumerate(texts)]
    results = client.post("/api/v1/register/batch", json={"items": items}).json()["results"]
    assert all(r["ok"] for r in results), results
    return [r["work_id"] for r in results]


def test_works_list_by_owner_and_title_is_paginated(client: TestClient) -> None:
    ids = register(client, [f"poem {i}" for i in range(5)])
    register(client, ["someone else's"], signer=KEY_B)
    page = client.get("/api/v1/works", params={"owner": KEY_A.did, "limit": 2}).json()
    seen = [w["work_id"] for w in page["items"]]
    while page["next_cursor"]:
        params = {"owner": KEY_A.did, "limit": 2, "cursor": page["next_cursor"]}
        page = client.get("/api/v1/works", params=params).json()
        seen += [w["work_id"] for w in page["items"]]
    assert seen == ids
    titled = client.get("/api/v1/works", params={"title": "a TITLE"}).json()["items"]
    assert len(titled) == 6
    assert client.get("/api/v1/works", params={"title": "zzz"}).json()["items"] == []
    assert_problem(client.get("/api/v1/works", params={"cursor": "x"}), 400, "invalid-input")


def test_certificate_as_json_html_and_pdf(client: TestClient) -> None:
    [work_id] = register(client, ["the work"])
    cert = client.get(f"/certificates/{work_id}.json")
    assert cert.status_code == 200
    assert json.loads(cert.content)["work_id"] == work_id
    assert cert.content == client.get(f"/api/v1/works/{work_id}/certificate").content
    page = client.get(f"/certificates/{work_id}", headers={"accept": "text/html"})
    assert page.status_code == 200 and work_id in page.text and "<svg" in page.text
    assert "Verified: every check passed" in page.text
    pdf = client.get(f"/certificates/{work_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert_problem(client.get("/certificates/000099-ABCD.json"), 404, "not-found")


def test_verify_good_tampered_and_foreign(client: TestClient, tmp_path: Path) -> None:
    [work_id] = register(client, ["verify me"])
    cert = client.get(f"/certificates/{work_id}.json").content
    good = client.post(
        "/api/v1/verify", files={"certificate": ("c.json", cert), "content": ("w", b"verify me")}
    ).json()
    assert good["ok"] and {c["status"] for c in good["checks"]} == {"ok"}
    wrong_content = client.post(
        "/api/v1/verify", files={"certificate": ("c.json", cert), "content": ("w", b"other")}
    ).json()
    assert not wrong_content["ok"]
    doc = json.loads(cert)
    doc["entry"]["leaf"]["logged_at"] = "2020-01-01T00:00:00.000Z"  # backdated
    tampered = json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    report = client.post(
        "/api/v1/verify", files={"certificate": ("c.json", tampered.encode() + b"\n")}
    ).json()
    assert not report["ok"]
    assert "failed" in {c["status"] for c in report["checks"]}
    assert_problem(
        client.post("/api/v1/verify", files={"certificate": ("c.json", b"{}")}),
        400,
        "malformed-document",
    )
    other = Home.init(
        tmp_path / "other",
        origin="other.test/log",
        log_seed=b"\x05" * 32,
        creator_seed=b"\x06" * 32,
    )
    with make_client(other.path) as elsewhere:
        [foreign_id] = register(elsewhere, ["from elsewhere"])
        foreign = elsewhere.get(f"/certificates/{foreign_id}.json").content
    assert_problem(
        client.post("/api/v1/verify", files={"certificate": ("c.json", foreign)}),
        422,
        "untrusted-log",
    )


def test_checkpoint_tiles_and_entry_bundles(client: TestClient) -> None:
    register(client, [f"entry {i}" for i in range(300)])
    checkpoint = client.get("/checkpoint")
    assert checkpoint.headers["cache-control"] == "no-cache"
    lines = checkpoint.text.split("\n")
    assert lines[1] == "300"
    full = client.get("/tile/0/000")
    assert full.status_code == 200 and len(full.content) == 256 * 32
    assert "immutable" in full.headers["cache-control"]
    partial = client.get("/tile/0/001.p/44")
    assert len(partial.content) == 44 * 32
    assert client.get("/tile/0/001.p/45").status_code == 404  # beyond the signed tree
    assert client.get("/tile/0/001").status_code == 404  # not full yet
    assert client.get("/tile/0/x000/001.p/44").status_code == 404  # not the canonical spelling
    level1 = client.get("/tile/1/000.p/1").content
    assert level1 == full.content[:0] + merkle.root_from_leaf_hashes(
        [full.content[i : i + 32] for i in range(0, 8192, 32)]
    )
    bundle = client.get("/tile/entries/000").content
    leaves, pos = [], 0
    while pos < len(bundle):
        (size,) = struct.unpack(">H", bundle[pos : pos + 2])
        leaves.append(bundle[pos + 2 : pos + 2 + size])
        pos += 2 + size
    assert len(leaves) == 256
    assert [merkle.leaf_hash(leaf) for leaf in leaves] == [
        full.content[i : i + 32] for i in range(0, 8192, 32)
    ]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    hashes += [partial.content[i : i + 32] for i in range(0, len(partial.content), 32)]
    root = merkle.root_from_leaf_hashes(hashes)
    assert (
        client.get("/api/v1/log/proofs/inclusion", params={"index": 7}).json()["root_hash"]
        == root.hex()
    )


def test_json_entries_and_proofs(client: TestClient) -> None:
    register(client, [f"e{i}" for i in range(5)])
    page = client.get("/api/v1/log/entries", params={"start": 1, "end": 4}).json()
    assert [e["index"] for e in page["entries"]] == [1, 2, 3] and page["next"] is None
    proof = client.get("/api/v1/log/proofs/inclusion", params={"index": 2, "tree_size": 5}).json()
    leaf = bytes.fromhex(proof["leaf_hash"])
    merkle.verify_inclusion(
        2, 5, leaf, [bytes.fromhex(p) for p in proof["proof"]], bytes.fromhex(proof["root_hash"])
    )
    cons = client.get("/api/v1/log/proofs/consistency", params={"old": 2, "new": 5}).json()
    assert cons["old_size"] == 2 and len(cons["proof"]) > 0
    assert_problem(
        client.get("/api/v1/log/proofs/consistency", params={"old": 5, "new": 9}), 404, "not-found"
    )
    info = client.get("/api/v1/log").json()
    assert info["tree_size"] == 5 and info["vkey"].startswith(info["origin"] + "+")


def test_errors_are_problem_documents(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/nowhere"), 404, "not-found")
    assert_problem(client.delete("/api/v1/health"), 405, "method-not-allowed")
    body = assert_problem(client.post("/api/v1/register", json={"nope": 1}), 400, "invalid-input")
    assert body["errors"]
    assert_problem(
        client.post(
            "/api/v1/accounts",
            content=b"x" * (70 << 10),
            headers={"content-type": "application/json"},
        ),
        413,
        "content-too-large",
    )


def test_html_errors_for_browsers(client: TestClient) -> None:
    page = client.get("/certificates/000099-ABCD", headers={"accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text


def test_security_headers(client: TestClient) -> None:
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_rate_limits_answer_429_with_retry_after(home: Home) -> None:
    limiter = RateLimiter({"read": Rate(per_second=0.01, burst=3)})
    with make_client(home.path, limiter=limiter) as c:
        codes = [c.get("/api/v1/health").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/api/v1/health")
        body = assert_problem(limited, 429, "rate-limited")
        assert int(limited.headers["retry-after"]) >= 1 and body["retry_after"] >= 1


def test_export_holds_every_certificate_of_the_account(client: TestClient) -> None:
    token = api_token(client, "lena")
    auth = {"Authorization": f"Bearer {token}"}
    for text in ("one", "two", "three"):
        assert client.post("/api/v1/register", json={"text": text}, headers=auth).status_code == 201
    register(client, ["not lena's"])
    data = client.get("/api/v1/account/export", headers=auth).content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        index = json.loads(archive.read("works.json"))
    assert len(index) == 3 and sum(n.startswith("certificates/") for n in names) == 3


def test_check_is_unavailable_until_search_is_installed(client: TestClient) -> None:
    response = client.post("/api/v1/check", json={"text": "who wrote this?"})
    body = assert_problem(response, 503, "unavailable")
    assert body["detail"] == "similarity search is turned off on this service"
    assert response.headers["retry-after"]
    assert client.get("/api/v1/health").json()["similarity_search"] is False


@dataclass
class FakeMatch:
    work_id: str
    owner: str
    logged_at: str
    score: float
    kind: str
    original: bool
    shared_passages: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class FakeSearch:
    matches: list[FakeMatch]
    seen: list[tuple[bytes, str]] = field(default_factory=list)

    def check(self, content: bytes, media_type: str, *, top_k: int = 10) -> list[FakeMatch]:
        self.seen.append((content, media_type))
        return self.matches[:top_k]


@pytest.fixture
def searching(home: Home) -> tuple[TestClient, FakeSearch]:
    search = FakeSearch([])
    return make_client(home.path, search=search), search


def test_check_and_search_page_with_a_search_installed(searching) -> None:  # type: ignore[no-untyped-def]
    client, search = searching
    with client:
        [work_id] = register(client, ["An old silent pond"])
        work = client.get(f"/api/v1/works/{work_id}").json()
        search.matches = [
            FakeMatch(
                work_id, work["owner"], work["logged_at"], 0.87, "near-duplicate", True, [(3, 13)]
            )
        ]
        body = client.post("/api/v1/check", json={"text": "An old silent pond!"}).json()
        assert body["matches"][0]["work_id"] == work_id
        assert body["matches"][0]["shared_passages"] == [[3, 13]]
        assert search.seen[-1] == (b"An old silent pond!", "text/plain; charset=utf-8")
        page = client.post(
            "/search", data={"text": "An old silent pond!"}, headers={"accept": "text/html"}
        )
        assert page.status_code == 200
        assert "<mark>old silent</mark>" in page.text and "87%" in page.text
        assert "original" in page.text
        digest = hashlib.sha256(b"x").hexdigest()
        assert digest not in page.text


def test_image_checks_past_the_decoding_budget_are_refused_with_retry_after(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = io.BytesIO()
    sample_image(1).save(photo, format="PNG")
    files = {"file": ("photo.png", photo.getvalue(), "image/png")}
    with make_client(home.path, with_search=True) as client:
        assert client.post("/api/v1/check/upload", files=files).json() == {"matches": []}
        monkeypatch.setattr(DECODING, "max_waiting", 0)
        with DECODING.held(DECODING.capacity):  # every pixel is being decoded elsewhere
            response = client.post("/api/v1/check/upload", files=files)
        assert_problem(response, 503, "unavailable")
        assert int(response.headers["retry-after"]) >= 1
        assert client.post("/api/v1/check/upload", files=files).status_code == 200
