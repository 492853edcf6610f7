"""Anti-squatting over the API: a later self-custody claim, whatever fingerprints it declares,
neither blocks the earlier work's author nor outranks the earlier work in a check."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copyseal.adapters.home import Home
from copyseal.core.keys import Signer
from copyseal.core.kinds import sign_claim
from copyseal.core.kinds.register import register_body
from copyseal.services.creator import TEXT_MEDIA_TYPE
from tests.unit.server.conftest import api_token, make_client
from tests.unit.server.test_register_api import KEY_A, claim

POEM = (
    "Under the bridge the river keeps its own counsel, carrying the lanterns of a festival "
    "nobody remembers, and the old ferryman hums the tune his mother taught him."
)
REVISION = POEM.replace("old ferryman", "tired ferryman")
MALLORY = Signer.from_seed(b"\x0d" * 32)


@pytest.fixture
def client(home: Home) -> Iterator[TestClient]:
    with make_client(home.path, with_search=True) as c:
        yield c


def _author(client: TestClient) -> tuple[dict[str, str], str]:
    """An account with a custodial key, and its registration of the poem (content sent)."""
    auth = {"Authorization": f"Bearer {api_token(client, 'alice')}"}
    first = client.post("/api/v1/register", json={"text": POEM}, headers=auth)
    assert first.status_code == 201, first.text
    return auth, first.json()["work_id"]


def test_a_self_custody_near_copy_does_not_block_the_author(client: TestClient) -> None:
    auth, original = _author(client)
    squat = client.post("/api/v1/register", json={"claim": claim(MALLORY, POEM + ".").to_dict()})
    assert squat.status_code == 201, squat.text

    again = client.post("/api/v1/register", json={"text": POEM}, headers=auth)
    assert again.status_code == 200, again.text
    assert again.json()["work_id"] == original and again.json()["created"] is False

    revision = client.post("/api/v1/register", json={"text": REVISION}, headers=auth)
    assert revision.status_code == 201, revision.text
    work = client.get(f"/api/v1/works/{revision.json()['work_id']}").json()
    assert work["version_of"] == [original]
    assert client.get(f"/api/v1/works/{original}").json()["versions"] == [work["work_id"]]


def test_fingerprints_copied_from_the_api_are_neither_exact_nor_original(
    client: TestClient,
) -> None:
    auth, original = _author(client)
    copied = client.get(f"/api/v1/works/{original}").json()["fingerprints"]
    decoy = b"Mallory's claimed content, which the registry never sees."
    body = register_body(
        sha256=hashlib.sha256(decoy).digest(),
        size=len(decoy),
        media_type=TEXT_MEDIA_TYPE,
        fingerprints=copied,
    )
    squat = sign_claim(
        MALLORY, "register", body, nonce=b"\x01" * 16, created="2026-11-23T00:00:00Z"
    )
    posted = client.post("/api/v1/register", json={"claim": squat.to_dict()})
    assert posted.status_code == 201, posted.text
    squat_id = posted.json()["work_id"]

    checked = client.post("/api/v1/check", json={"text": POEM})
    assert checked.status_code == 200, checked.text
    found = [(m["work_id"], m["kind"], m["original"]) for m in checked.json()["matches"]]
    assert found == [(original, "exact", True), (squat_id, "near-duplicate", False)]

    assert client.post("/api/v1/register", json={"text": POEM}, headers=auth).status_code == 200
    revision = client.post("/api/v1/register", json={"text": REVISION}, headers=auth)
    assert revision.status_code == 201, revision.text

    # Someone else's copy is refused in the name of the earlier work, not the squat.
    other = {"Authorization": f"Bearer {api_token(client, 'carol')}"}
    copy = client.post(
        "/api/v1/register", json={"text": POEM.replace("festival", "fair")}, headers=other
    )
    assert copy.status_code == 409, copy.text
    assert copy.json()["earlier"] == original


def test_the_same_new_bytes_of_two_creators_in_one_batch(client: TestClient) -> None:
    """Claims of one request are checked together, before any is logged; the sequencer still
    lets only the first creator have the bytes."""
    items = [{"claim": claim(signer, POEM).to_dict()} for signer in (KEY_A, MALLORY)]
    response = client.post("/api/v1/register/batch", json={"items": items})
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["ok"] is True
    assert second["ok"] is False and second["problem"]["status"] == 409
    assert second["problem"]["earlier"] == first["work_id"]
    assert client.get("/api/v1/health").json()["tree_size"] == 1
