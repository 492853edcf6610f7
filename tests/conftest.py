"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.core.keys import Signer
from copyseal.core.note import NoteSigner
from copyseal.services.assembly import Assembly, assemble
from copyseal.services.registry import Registry
from tests.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def log_signer() -> NoteSigner:
    return NoteSigner("test.copyseal/log", bytes(range(32)))


@pytest.fixture
def creator() -> Signer:
    return Signer.from_seed(b"\x07" * 32)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.init(
        tmp_path / "home",
        origin="test.copyseal/home",
        log_seed=b"\x01" * 32,
        creator_seed=b"\x02" * 32,
    )


@pytest.fixture
def assembly(home: Home, clock: FakeClock) -> Iterator[Assembly]:
    """The home's registry with its folds and admission rules, as the interfaces wire it."""
    stores = home.open_stores()
    node = assemble(stores, log_signer=home.log_signer, clock=clock)
    yield node
    node.close()
    stores.close()


@pytest.fixture
def registry(assembly: Assembly) -> Registry:
    return assembly.registry
