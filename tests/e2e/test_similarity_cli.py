"""Who owns this? Check, anti-squatting, lineage, disputes, versions and private works."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.cells import cell_len
from typer.testing import CliRunner

from copyseal.cli.main import app
from copyseal.errors import ConflictError, EmptyContent, MalformedDocument, VerificationError
from copyseal.server.app import create_app
from tests.support import png_bytes

runner = CliRunner()
POEM = (
    "Under the bridge the river keeps its own counsel, carrying the lanterns of a festival "
    "nobody remembers, and the old ferryman hums the tune his mother taught him."
)


class Home:
    def __init__(self, path: Path) -> None:
        self.path = path
        assert self.run("init", "--origin", "similar.test/log")[0] == 0
        self.run("keys", "new", "bob")

    def run(self, *args: str) -> tuple[int, Any]:
        result = runner.invoke(app, [*args, "--json"], env={"COPYSEAL_HOME": str(self.path)})
        return result.exit_code, json.loads(result.output) if result.output.strip() else None

    def register(self, *args: str) -> tuple[int, Any]:
        return self.run("register", *args, "--out", str(self.path / "certs"))


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


def test_check_finds_exact_and_edited_copies(home: Home) -> None:
    code, data = home.register("--text", POEM, "--title", "Ferryman")
    assert code == 0, data
    work_id = data["works"][0]["work_id"]
    edited = POEM.replace("river", "stream").replace("old", "aged").upper() + " Really."
    for text, kind in ((POEM, "exact"), (edited, "near-duplicate")):
        code, found = home.run("check", "--text", text)
        assert code == 0, found
        best = found["matches"][0]
        assert (best["work_id"], best["kind"], best["original"]) == (work_id, kind, True)
    quoted = "I love this one: " + POEM[:120] + " ... and then I went home and slept all day long."
    code, found = home.run("check", "--text", quoted)
    assert found["matches"][0]["work_id"] == work_id
    code, found = home.run("check", "--text", "An unrelated note about buying bread and milk.")
    assert code == 0 and found["matches"] == []


@pytest.mark.parametrize(
    "title",
    ["Ferryman's song, as sung at the festival nobody remembers", "摆渡人之歌（节日里唱的）"],
)
def test_the_check_table_fits_80_columns_with_title_kind_and_score(home: Home, title: str) -> None:
    code, data = home.register("--text", POEM, "--title", title)
    assert code == 0, data
    work_id = data["works"][0]["work_id"]
    edited = POEM.replace("river", "stream").replace("old", "aged") + " Really."
    result = runner.invoke(
        app, ["check", "--text", edited], env={"COPYSEAL_HOME": str(home.path), "COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), result.output
    [row] = [line for line in lines if line.startswith(work_id)]
    assert row.startswith(f"{work_id}*") and "* original" in result.output
    assert title[:8] in row and "near-duplicate" in row
    assert re.search(r"\b0\.\d\d\b", row)


def test_another_creators_copy_is_refused_until_declared(home: Home) -> None:
    code, data = home.register("--text", POEM)
    work_id = data["works"][0]["work_id"]
    copy = POEM.replace("festival", "carnival")
    code, data = home.register("--text", copy, "--key", "bob")
    assert code == ConflictError.exit_code
    refused = data["works"][0]["error"]
    assert refused["earlier"] == work_id and "--derivative-of" in refused["hint"]
    code, data = home.register("--text", copy, "--key", "bob", "--derivative-of", work_id)
    assert code == 0, data
    child = data["works"][0]["work_id"]
    code, disputed = home.register(
        "--text", POEM, "--key", "bob", "--dispute", work_id, "--reason", "I wrote it in 2019"
    )
    assert code == 0 and disputed["works"][0]["kind"] == "dispute"
    code, parent = home.run("show", work_id)
    assert parent["derivatives"] == [child]
    assert parent["disputed_by"] == [disputed["works"][0]["work_id"]]
    code, shown = home.run("show", child)
    assert shown["derivative_of"] == [work_id]


def test_worker_processes_fingerprint_and_check_a_batch(home: Home, tmp_path: Path) -> None:
    code, data = home.register("--text", POEM)
    work_id = data["works"][0]["work_id"]
    texts = {
        "copy.txt": POEM.replace("festival", "carnival"),
        "note.txt": "A shopping list: flour, eggs, a jar of honey, lamp oil and a broom.",
        "haiku.txt": "An old silent pond, a frog jumps into the pond, splash! Silence again.",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    files = [str(tmp_path / name) for name in texts]
    (tmp_path / "blank.txt").write_text(" ... !!! ")
    # A bad work stops the whole batch before anything is logged, as in one process.
    code, _ = home.register(*files, str(tmp_path / "blank.txt"), "--key", "bob", "--jobs", "2")
    assert code == EmptyContent.exit_code
    with sqlite3.connect(home.path / "copyseal.db") as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (1,)

    code, data = home.register(*files, "--key", "bob", "--jobs", "2")
    assert code == ConflictError.exit_code
    copy, note, haiku = data["works"]
    assert copy["error"]["earlier"] == work_id
    for row, name in ((note, "note.txt"), (haiku, "haiku.txt")):
        found = home.run("check", "--text", texts[name])[1]["matches"]
        assert [(m["work_id"], m["kind"]) for m in found] == [(row["work_id"], "exact")]
        shown = home.run("show", row["work_id"])[1]
        assert "text_minhash_v1" in shown["fingerprints"]


def test_worker_processes_register_chunk_after_chunk(
    home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With workers, the next chunk is fingerprinted while one is registered; a bad work
    stops the batch at its chunk, and the chunks before it stay registered and listed."""
    monkeypatch.setattr("copyseal.cli.works.CHUNK", 2)
    names = []
    for i in range(6):
        name = f"n{i}.txt"
        text = f"Entry {i}: the tide came in {i * 3} minutes late, and the gulls sat it out."
        (tmp_path / name).write_text(" ... !!! " if i == 3 else text)
        names.append(str(tmp_path / name))
    code, data = home.register(*names, "--jobs", "2")
    assert code == EmptyContent.exit_code
    first, second, stopped = data["works"]
    assert [first["source"], second["source"]] == names[:2]
    assert stopped["error"]["error"] == "EmptyContent"
    assert stopped["source"] == "works 3–6, not registered"
    with sqlite3.connect(home.path / "copyseal.db") as db:
        assert db.execute("SELECT count(*) FROM entries").fetchone() == (2,)

    (tmp_path / "n3.txt").write_text("Entry 3: and then the wind turned, and the boats came home.")
    code, data = home.register(*names, "--jobs", "2")
    assert code == 0, data
    rows = data["works"]
    assert [r["source"] for r in rows] == names
    assert [r["created"] for r in rows] == [False, False] + [True] * 4  # already registered


def test_own_edited_version_is_linked(home: Home) -> None:
    code, data = home.register("--text", POEM)
    first = data["works"][0]["work_id"]
    code, data = home.register("--text", POEM.replace("counsel", "secrets"))
    assert code == 0, data
    second = data["works"][0]["work_id"]
    assert second != first
    assert home.run("show", second)[1]["version_of"] == [first]
    assert home.run("show", first)[1]["versions"] == [second]


def test_images_are_found_after_edits_and_squatting_is_refused(home: Home, tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    original = tmp_path / "photo.png"
    original.write_bytes(png_bytes(7, size=256))
    code, data = home.register(str(original))
    assert code == 0, data
    work_id = data["works"][0]["work_id"]
    image = Image.open(BytesIO(png_bytes(7, size=256))).convert("L").resize((128, 128))
    edited = tmp_path / "edited.jpg"
    image.save(edited, quality=30)
    code, found = home.run("check", str(edited))
    assert found["matches"][0]["work_id"] == work_id, found
    code, data = home.register(str(edited), "--key", "bob")
    assert code == ConflictError.exit_code and data["works"][0]["error"]["earlier"] == work_id
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    assert home.register(str(broken))[0] == MalformedDocument.exit_code


def test_private_registration_stays_out_of_search(home: Home, tmp_path: Path) -> None:
    code, data = home.register("--text", POEM, "--private")
    assert code == 0, data
    row = data["works"][0]
    salt_file = Path(row["salt"])
    assert salt_file.stat().st_mode & 0o777 == 0o600
    assert home.run("check", "--text", POEM)[1]["matches"] == []
    content = tmp_path / "poem.txt"
    content.write_text(POEM)
    cert = row["certificate"]
    salt = salt_file.read_text().strip()
    code, report = home.run("verify", cert, "--content", str(content), "--salt", salt)
    assert code == 0, report
    code, report = home.run("verify", cert, "--content", str(content))
    assert code == VerificationError.exit_code and "salt" in report["detail"]
    # Nothing about the work was published, so another creator is not refused.
    assert home.register("--text", POEM, "--key", "bob")[0] == 0
    # Its certificate page and PDF say what is public: a commitment, nothing else.
    with TestClient(create_app(home.path)) as client:
        page = client.get(f"/certificates/{row['work_id']}")
        assert page.status_code == 200 and "Private registration" in page.text
        pdf = client.get(f"/certificates/{row['work_id']}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_empty_text_is_refused(home: Home) -> None:
    assert home.register("--text", " ... !!! ")[0] == EmptyContent.exit_code


def test_index_rebuild_gives_the_same_answers(home: Home) -> None:
    code, data = home.register("--text", POEM)
    work_id = data["works"][0]["work_id"]
    with sqlite3.connect(home.path / "copyseal.db") as db:
        db.execute("DELETE FROM fp_keys")
        db.execute("DELETE FROM fp_recent")
    edited = POEM.replace("river", "stream")
    assert home.run("check", "--text", edited)[1]["matches"] == []
    code, rebuilt = home.run("index", "rebuild")
    assert code == 0 and rebuilt["entries"] == 1
    assert home.run("check", "--text", edited)[1]["matches"][0]["work_id"] == work_id


def _wav(path: Path, seed: int, gain: float = 0.5, seconds: float = 8.0) -> None:
    """A clip of notes whose pitches and lengths depend on ``seed``, as 16-bit mono WAV."""
    import wave

    import numpy as np

    rate = 11025
    rng = np.random.default_rng(seed)
    notes = []
    while sum(len(n) for n in notes) < seconds * rate:
        length = int(rate * rng.uniform(0.15, 0.5))
        t = np.arange(length) / rate
        freq = rng.choice([220, 262, 294, 330, 349, 392, 440, 494, 523, 587, 659])
        notes.append(np.sin(2 * np.pi * freq * t) * np.hanning(length))
    samples = np.concatenate(notes)[: int(seconds * rate)] * gain
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


def test_audio_is_found_after_a_volume_change(home: Home, tmp_path: Path) -> None:
    original, louder, other = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    _wav(original, seed=1)
    _wav(louder, seed=1, gain=0.9)
    _wav(other, seed=2)
    code, data = home.register(str(original))
    assert code == 0, data
    work_id = data["works"][0]["work_id"]
    assert "audio_chromaprint_v1" in home.run("show", work_id)[1]["fingerprints"]
    code, found = home.run("check", str(louder))
    assert found["matches"][0]["work_id"] == work_id, found
    assert found["matches"][0]["kind"] == "near-duplicate"
    assert home.run("check", str(other))[1]["matches"] == []
    code, data = home.register(str(louder), "--key", "bob")
    assert code == ConflictError.exit_code
