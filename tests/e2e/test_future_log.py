"""A log written by a newer copyseal, with claim kinds and a body version this one does not
know (``tests/vectors/future-log``): today's code mirrors it, audits it, verifies its
certificates and serves it, and says what it did not understand instead of failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from copyseal.adapters.home import Home
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.cli.main import app
from copyseal.core import merkle
from copyseal.core.certificate import Certificate, verify_certificate
from copyseal.core.claims import leaf_bytes
from copyseal.core.kinds import content_of
from copyseal.core.note import Checkpoint, NoteVerifier, sign_note
from copyseal.domain.log import Entry, LogStore, StoredCheckpoint
from copyseal.server.app import create_app
from copyseal.services.assembly import assemble
from copyseal.services.audit import audit_log
from copyseal.services.mirror import Mirror
from tests.support import FakeClock
from tests.vectors import build_future_log as future

FIXTURE = Path(__file__).resolve().parents[1] / "vectors" / "future-log"
runner = CliRunner()


def _fetch(path: str, max_bytes: int = 1 << 20) -> bytes:
    data = (FIXTURE / path).read_bytes()
    assert len(data) <= max_bytes
    return data


def _log_key() -> NoteVerifier:
    return NoteVerifier.from_vkey(_fetch("log.vkey").decode().strip())


def test_the_committed_fixture_is_what_the_builder_makes() -> None:
    built = future.build()
    committed = {
        str(p.relative_to(FIXTURE)): p.read_bytes() for p in FIXTURE.rglob("*") if p.is_file()
    }
    assert committed == built


def test_a_mirror_carries_kinds_it_does_not_know(tmp_path: Path) -> None:
    store = SqliteLogStore(tmp_path / "mirror.db")
    try:
        report = Mirror(store=store, log=_log_key(), fetch=_fetch).sync()
        assert (report.old_size, report.new_size) == (0, 5)
        # Carried byte for byte: the mirror's leaves are the log's leaves.
        leaves = [e.leaf for e in store.entries(0, 5)]
        assert leaves == [leaf_bytes(c, future.LOGGED_AT) for c in future.claims()]
        audit = audit_log(store, _log_key())
        assert audit.ok, audit.problems
        assert audit.not_understood == 3
        reasons = {u["index"]: u["reason"] for u in audit.unknown}
        assert set(reasons) == {1, 2, 3}
        assert "'transfer' is unknown" in reasons[1]
        assert "register body version 2 is unknown" in reasons[2]
        # A second sync finds nothing new and still agrees with the log.
        again = Mirror(store=store, log=_log_key(), fetch=_fetch).sync()
        assert (again.old_size, again.new_size) == (5, 5)
    finally:
        store.close()


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURE / "certificates").iterdir()))
def test_certificates_of_unknown_kinds_verify_and_say_what_was_not_understood(
    name: str, tmp_path: Path
) -> None:
    data = (FIXTURE / "certificates" / name).read_bytes()
    report = verify_certificate(Certificate.from_json(data), trusted_log=_log_key())
    assert report.ok, report.to_dict()
    statuses = {c.name: (c.status, c.detail) for c in report.checks}
    for check in ("log", "signature", "leaf", "work_id", "inclusion", "checkpoint"):
        assert statuses[check][0] == "ok", (check, statuses[check])
    status, detail = statuses["claim"]
    assert status == "skipped" and "unknown to this copyseal" in detail
    # From the command line: exit 0, and the report names the part not understood.
    cert = tmp_path / name
    cert.write_bytes(data)
    result = runner.invoke(
        app,
        ["verify", str(cert), "--log-key", _log_key().to_vkey(), "--json"],
        env={"COPYSEAL_HOME": str(tmp_path / "nohome")},
    )
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.output)["checks"]}
    assert checks["claim"]["status"] == "skipped"


def _append_as_a_newer_registry(store: LogStore, home: Home) -> list[Entry]:
    """What a newer copyseal sharing this home's store would do: log the fixture's claims
    under this home's log key."""
    with store.sequencer() as writer:
        start, _ = writer.head()
        entries = [
            Entry.of(
                start + i,
                leaf_bytes(c, future.LOGGED_AT),
                c,
                future.LOGGED_AT,
                content=content_of(c),
            )
            for i, c in enumerate(future.claims())
        ]
        size, nodes = merkle.append_nodes(start, writer.read_node, (e.leaf_hash for e in entries))
        read = lambda lv, i: nodes.get((lv, i)) or writer.read_node(lv, i)  # noqa: E731
        body = Checkpoint(home.log_signer.name, size, merkle.root(size, read)).to_text()
        note = sign_note(body, [home.log_signer]).to_text()
        writer.append(entries, nodes, StoredCheckpoint(size, note, future.LOGGED_AT))
    return entries


def test_a_home_holding_unknown_kinds_audits_folds_and_serves_them(home: Home) -> None:
    stores = home.open_stores()
    try:
        entries = _append_as_a_newer_registry(stores.log, home)
        node = assemble(stores, log_signer=home.log_signer, clock=FakeClock())
        assert node.follower.rebuild() == 5
        assert stores.ownership.owners(range(5)) == {0: future.ALICE.did}
        assert [(r.source, r.relation) for r in stores.lineage.links(0)] == [(4, "dispute")]
        matches = node.search.check(future.POEM, "text/plain; charset=utf-8")
        assert [m.index for m in matches] == [0]  # the unknown register v2 is not searched
        node.close()
    finally:
        stores.close()
    code = runner.invoke(app, ["audit", "--json"], env={"COPYSEAL_HOME": str(home.path)})
    assert code.exit_code == 0, code.output
    assert json.loads(code.output)["not_understood"] == 3
    with TestClient(create_app(home.path, clock=FakeClock())) as client:
        transfer = entries[1].work_id
        response = client.get(f"/api/v1/works/{transfer}")
        assert response.status_code == 404
        assert "not a registered work" in response.json()["detail"]
        listed = client.get("/api/v1/log/entries", params={"start": 0, "stop": 5}).json()
        assert [e["type"] for e in listed["entries"]] == [
            "register",
            "transfer",
            "register",
            "key-rotate",
            "dispute",
        ]
        assert client.get("/tile/entries/000.p/5").content == b"".join(
            len(e.leaf).to_bytes(2, "big") + e.leaf for e in entries
        )
        assert client.get(f"/api/v1/works/{entries[0].work_id}").status_code == 200


def test_show_and_the_entries_route_name_what_they_do_not_understand(home: Home) -> None:
    stores = home.open_stores()
    try:
        entries = _append_as_a_newer_registry(stores.log, home)
    finally:
        stores.close()
    env = {"COPYSEAL_HOME": str(home.path), "COLUMNS": "80"}
    transfer, dispute = entries[1].work_id, entries[4].work_id
    shown = runner.invoke(app, ["show", transfer], env=env)
    assert shown.exit_code == 0, shown.output
    assert "transfer v1" in shown.output and "not understood" in shown.output.replace("\n", " ")
    assert future.ALICE.did[:30] in shown.output and future.LOGGED_AT in shown.output
    as_json = json.loads(runner.invoke(app, ["show", transfer, "--json"], env=env).output)
    assert (as_json["type"], as_json["signer"], as_json["understood"]) == (
        "transfer",
        future.ALICE.did,
        False,
    )
    assert "unknown to this copyseal" in as_json["not_understood"]
    with TestClient(create_app(home.path, clock=FakeClock())) as client:
        found = [client.get(f"/api/v1/log/entries/{e.work_id}").json() for e in entries]
        assert [(e["type"], e["understood"], e["work"]) for e in found] == [
            ("register", True, True),
            ("transfer", False, False),
            ("register", False, False),  # a body version this copyseal does not read
            ("key-rotate", False, False),
            ("dispute", True, False),
        ]
        assert found[0]["disputed_by"] == [dispute]
        assert found[4]["disputes"] == entries[0].work_id
