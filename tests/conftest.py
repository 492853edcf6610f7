"""Fixtures shared by every test layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copyseal.adapters.home import Home
from copyseal.core.keys import Signer
from copyseal.core.note import NoteSigner
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
def registry(home: Home, clock: FakeClock) -> Iterator[Registry]:
    store = home.open_store()
    reg = Registry(store=store, log_signer=home.log_signer, clock=clock)
    yield reg
    reg.close()
    store.close()
