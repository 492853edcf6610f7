"""The works catalogue port's contract: every WorkCatalog adapter (and the in-memory fake)
must pass these. The progress rules every fold store shares are in test_folds.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.storage.catalog import SqliteWorkCatalog
from copyseal.domain.catalog import CatalogEntry, WorkCatalog
from tests.fakes import MemoryCatalog


def entry(index: int, owner: str = "did:key:zA", title: str | None = None) -> CatalogEntry:
    return CatalogEntry(
        index, f"{index:06d}-ABCD", owner, title, "text/plain", 3, "00" * 32, "2026-11-01T00:00:00Z"
    )


@pytest.fixture(params=["sqlite", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkCatalog]:
    adapter: WorkCatalog = (
        SqliteWorkCatalog(tmp_path / "copyseal.db")
        if request.param == "sqlite"
        else MemoryCatalog()
    )
    yield adapter
    adapter.close()


def test_find_by_owner_title_and_cursor(catalog: WorkCatalog) -> None:
    assert catalog.through() == 0
    catalog.add(
        [
            entry(0, title="Old Pond"),
            entry(2, "did:key:zB", "Pond 100%_\\"),
            entry(3, title=None),
            entry(4, title="Crème brûlée"),
        ],
        0,
        5,
    )
    assert catalog.through() == 5
    assert [e.index for e in catalog.find()] == [0, 2, 3, 4]
    assert [e.index for e in catalog.find(owners=["did:key:zA"], after=0)] == [3, 4]
    assert [e.index for e in catalog.find(title="POND")] == [0, 2]
    assert [e.index for e in catalog.find(title="100%_\\")] == [2]  # LIKE wildcards are literal
    assert [e.index for e in catalog.find(title="CRÈME")] == [4]
    assert catalog.find(owners=[]) == []
    assert [e.index for e in catalog.find(limit=2)] == [0, 2]


def test_a_span_is_added_once(catalog: WorkCatalog) -> None:
    assert catalog.add([entry(0)], 0, 10)
    assert not catalog.add([entry(1)], 0, 4)  # another follower's span: nothing written
    assert catalog.through() == 10
    assert [e.index for e in catalog.find()] == [0]
    catalog.clear()
    assert catalog.through() == 0 and catalog.find() == []
