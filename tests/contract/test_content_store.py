"""The content store port's contract: every ContentStore adapter (and the in-memory fake)
must pass these."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.storage.contents_sqlite import SqliteContentStore
from copyseal.adapters.storage.sqlite import SqliteLogStore
from copyseal.domain.contents import ContentStore
from copyseal.errors import ContentTooLarge, EmptyContent
from tests.fakes import MemoryContentStore

LIMIT = 1000


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContentStore]:
    if request.param == "memory":
        yield MemoryContentStore(max_bytes=LIMIT)
        return
    log = SqliteLogStore(tmp_path / "copyseal.db")  # the same file as the log, as served
    adapter = SqliteContentStore(tmp_path / "copyseal.db", max_bytes=LIMIT)
    yield adapter
    adapter.close()
    log.close()


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_contents_are_kept_under_their_sha256(store: ContentStore) -> None:
    poem, photo = b"Light rain on the window\n", bytes(range(256)) * 3
    assert store.get(sha(poem)) is None and store.size(sha(poem)) is None
    store.put([poem, photo])
    assert store.get(sha(poem)) == poem and store.get(sha(photo)) == photo
    assert store.size(sha(photo)) == len(photo)
    store.put([poem, poem])  # kept already: kept once, unchanged
    assert store.get(sha(poem)) == poem
    store.put([])
    assert store.get(sha(b"never put")) is None


def test_over_the_limit_or_empty_keeps_nothing_of_the_batch(store: ContentStore) -> None:
    small, large = b"small", b"x" * (LIMIT + 1)
    with pytest.raises(ContentTooLarge):
        store.put([small, large])
    with pytest.raises(EmptyContent):
        store.put([small, b""])
    assert store.get(sha(small)) is None
    store.put([b"y" * LIMIT])
    assert store.size(sha(b"y" * LIMIT)) == LIMIT


def test_concurrent_puts_of_one_content_keep_it_once(store: ContentStore) -> None:
    content = b"the same bytes from many requests"
    errors: list[BaseException] = []

    def put() -> None:
        try:
            store.put([content])
        except BaseException as exc:  # a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and store.get(sha(content)) == content


def test_sqlite_contents_outlive_the_connection(tmp_path: Path) -> None:
    path = tmp_path / "copyseal.db"
    store = SqliteContentStore(path, max_bytes=LIMIT)
    store.put([b"kept across a restart"])
    store.close()
    reopened = SqliteContentStore(path, max_bytes=LIMIT)
    try:
        assert reopened.get(sha(b"kept across a restart")) == b"kept across a restart"
    finally:
        reopened.close()
