"""``copyseal show`` and ``GET /api/v1/log/entries/{id}``: any entry by the ID ``register``
printed, a work with its lineage both ways, a dispute with what it disputes and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from copyseal.cli.main import app
from copyseal.server.app import create_app

runner = CliRunner()
POEM = (
    "Under the bridge the river keeps its own counsel, carrying the lanterns of a festival "
    "nobody remembers, and the old ferryman hums the tune his mother taught him."
)
REASON = "I wrote it in 2019, in my notebook"


def cs(home: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args], env={"COPYSEAL_HOME": str(home), "COLUMNS": "80"})
    return result.exit_code, result.output


def cs_json(home: Path, *args: str) -> Any:
    code, output = cs(home, *args, "--json")
    assert code == 0, output
    return json.loads(output)


@pytest.fixture
def lineage(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A work, another creator's declared derivative of it, and their dispute of it."""
    home = tmp_path / "home"
    cs_json(home, "init", "--origin", "show.test/log")
    cs_json(home, "keys", "new", "bob")
    out = str(tmp_path / "certs")

    def register(*args: str) -> str:
        rows = cs_json(home, "register", *args, "--out", out)["works"]
        assert "error" not in rows[0], rows
        return str(rows[0]["work_id"])

    work = register("--text", POEM, "--title", "Ferryman")
    copy = POEM.replace("festival", "carnival")
    child = register("--text", copy, "--key", "bob", "--derivative-of", work)
    dispute = register("--text", POEM, "--key", "bob", "--dispute", work, "--reason", REASON)
    return home, {"work": work, "child": child, "dispute": dispute}


def test_show_finds_a_dispute_by_the_id_register_printed(
    lineage: tuple[Path, dict[str, str]],
) -> None:
    home, ids = lineage
    shown = cs_json(home, "show", ids["dispute"])
    assert (shown["entry_id"], shown["type"], shown["work"]) == (ids["dispute"], "dispute", False)
    assert shown["disputes"] == ids["work"] and shown["reason"] == REASON
    code, text = cs(home, "show", ids["dispute"])
    assert code == 0, text
    assert f"entry {ids['dispute']}" in text and "dispute v1" in text
    assert ids["work"] in text and REASON in text


def test_plain_show_lists_the_lineage_json_lists(lineage: tuple[Path, dict[str, str]]) -> None:
    home, ids = lineage
    shown = cs_json(home, "show", ids["work"])
    assert shown["derivatives"] == [ids["child"]] and shown["disputed_by"] == [ids["dispute"]]
    code, text = cs(home, "show", ids["work"])
    assert code == 0, text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    folded = "".join(line.split("│")[2].strip() for line in lines if line.count("│") == 3)
    assert shown["owner"] in folded and shown["leaf_hash"] in folded  # folded, never cut
    assert any("derivatives" in line and ids["child"] in line for line in lines), text
    assert any("disputed_by" in line and ids["dispute"] in line for line in lines), text
    code, text = cs(home, "show", ids["child"])
    assert any("derivative_of" in line and ids["work"] in line for line in text.splitlines())


def test_the_api_looks_up_any_entry_by_its_id(lineage: tuple[Path, dict[str, str]]) -> None:
    home, ids = lineage
    with TestClient(create_app(home, with_search=False)) as client:
        dispute = client.get(f"/api/v1/log/entries/{ids['dispute'].lower()}").json()
        assert (dispute["type"], dispute["disputes"], dispute["reason"]) == (
            "dispute",
            ids["work"],
            REASON,
        )
        assert dispute["links_to"] == [{"relation": "dispute", "work_id": ids["work"]}]
        assert dispute["urls"] == {"entry": f"/api/v1/log/entries/{ids['dispute']}"}
        work = client.get(f"/api/v1/log/entries/{ids['work']}").json()
        assert work["work"] and work["disputed_by"] == [ids["dispute"]]
        assert work["urls"]["certificate"] == f"/certificates/{ids['work']}.json"
        assert client.get(f"/api/v1/works/{ids['dispute']}").status_code == 404
        listed = client.get("/api/v1/log/entries").json()["entries"]
        assert [(e["entry_id"], e["work_id"]) for e in listed] == [
            (ids["work"], ids["work"]),
            (ids["child"], ids["child"]),
            (ids["dispute"], None),
        ]
        missing = client.get("/api/v1/log/entries/000009-0000")
        assert missing.status_code == 404 and "no entry" in missing.json()["detail"]
