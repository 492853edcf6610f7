"""The mirror's HTTP reads stop at each resource's bound, as sent and as decoded."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.adapters.tlog_client import http_fetcher
from copyseal.errors import ContentTooLarge, MalformedDocument
from copyseal.services.mirror import MAX_CHECKPOINT_BYTES, Mirror
from copyseal.services.registry import Registry
from copyseal.services.tiles import LogTiles, bundle_bound
from tests.e2e.bomb_server import Body, gzip_bomb, gzipped, serving
from tests.support import FakeClock
from tests.unit.services.test_mirror import add

BOMB_MIB = 100
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bomb() -> Body:
    return gzip_bomb(BOMB_MIB), {"Content-Encoding": "gzip"}


@pytest.fixture
def log(tmp_path: Path) -> Registry:
    home = Home.init(
        tmp_path / "log", origin="limits.test/log", log_seed=b"\x41" * 32, creator_seed=b"\x42" * 32
    )
    registry = Registry(store=home.open_store(), log_signer=home.log_signer, clock=FakeClock())
    add(registry, "entry", 3, seed=1)
    return registry


def mirror_of(log: Registry, base: str, tmp_path: Path) -> Mirror:
    store = SqliteLogStore(tmp_path / "mirror.db")
    return Mirror(store=store, log=log.log_signer.verifier, fetch=http_fetcher(base))


def test_a_gzip_bomb_for_a_checkpoint_is_refused_at_the_checkpoint_bound(
    log: Registry, bomb: Body, tmp_path: Path
) -> None:
    with serving({"checkpoint": bomb}) as base, pytest.raises(ContentTooLarge) as caught:
        mirror_of(log, base, tmp_path).sync()
    assert caught.value.details == {"url": f"{base}/checkpoint", "limit": MAX_CHECKPOINT_BYTES}
    assert f"{base}/checkpoint sent more than {MAX_CHECKPOINT_BYTES} bytes" in caught.value.message


def test_a_gzip_bomb_for_an_entry_bundle_is_refused_at_the_bundle_bound(
    log: Registry, bomb: Body, tmp_path: Path
) -> None:
    bodies = {"checkpoint": gzipped(log.latest_checkpoint().encode()), "tile/entries/000.p/3": bomb}
    with serving(bodies) as base:
        mirror = mirror_of(log, base, tmp_path)
        with pytest.raises(ContentTooLarge, match=r"tile/entries/000\.p/3") as caught:
            mirror.sync()
    assert caught.value.details["limit"] == bundle_bound(3) < BOMB_MIB << 20
    assert mirror.store.tree_size() == 0


def test_honest_gzip_and_chunked_bodies_are_read_whole(log: Registry, tmp_path: Path) -> None:
    tiles = LogTiles(log.store)
    bundle, headers = gzipped(tiles.entries(0, 3))
    bodies = {
        "checkpoint": (log.latest_checkpoint().encode(), {"Transfer-Encoding": "chunked"}),
        "tile/entries/000.p/3": (bundle, {**headers, "Transfer-Encoding": "chunked"}),
    }
    with serving(bodies) as base:
        assert mirror_of(log, base, tmp_path).sync().fetched == 3


@pytest.mark.parametrize("chunked", [False, True])
def test_a_plain_body_over_the_bound_is_refused(chunked: bool) -> None:
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    with serving({"tile/0/000": (bytes(8193), headers)}) as base:
        fetch = http_fetcher(base)
        with pytest.raises(ContentTooLarge, match="8192"):
            fetch("tile/0/000", 8192)


def test_the_compressed_length_is_bounded_too() -> None:
    # A gzip member whose header carries 60 KB of comment inflates to 5 bytes; it is still
    # 60 KB on the wire for a resource of at most 8 KiB.
    member = zlib.compress(b"hello", wbits=zlib.MAX_WBITS | 16)
    padded = member[:3] + bytes([member[3] | 0x10]) + member[4:10] + b"c" * 60_000 + b"\0"
    padded += member[10:]
    assert zlib.decompress(padded, wbits=zlib.MAX_WBITS | 16) == b"hello"
    with (
        serving({"tile/0/000": (padded, {"Content-Encoding": "gzip"})}) as base,
        pytest.raises(ContentTooLarge, match="8192"),
    ):
        http_fetcher(base)("tile/0/000", 8192)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (gzipped(b"x" * 100)[0][:-4], "truncated"),
        (gzipped(b"x" * 100)[0] * 2, "after the end"),
        (b"not gzip at all", "corrupt"),
    ],
)
def test_a_malformed_gzip_body_is_refused(body: bytes, problem: str) -> None:
    with (
        serving({"checkpoint": (body, {"Content-Encoding": "gzip"})}) as base,
        pytest.raises(MalformedDocument, match=problem),
    ):
        http_fetcher(base)("checkpoint", 1000)


def test_an_encoding_not_asked_for_is_refused() -> None:
    with (
        serving({"checkpoint": (b"\x00", {"Content-Encoding": "br"})}) as base,
        pytest.raises(MalformedDocument, match="'br'"),
    ):
        http_fetcher(base)("checkpoint", 1000)


@pytest.mark.parametrize(
    ("client", "error"), [("mirror", "ContentTooLarge"), ("witness", "MalformedDocument")]
)
def test_a_gzip_bomb_costs_the_reader_far_less_memory_than_it_inflates_to(
    client: str, error: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.bomb_server", str(BOMB_MIB), client],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["error"] == error
    # The whole body would be 100 MiB; reading stops a few KiB past the bound (8 KiB for a
    # hash tile, 64 KiB for a witness's reply), and never inflates a whole chunk at once.
    assert report["after_mib"] - report["before_mib"] < BOMB_MIB / 5, report
