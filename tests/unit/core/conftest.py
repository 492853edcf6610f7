"""Fixtures for the core tests; plain helpers live in ``helpers.py`` beside this file."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.core.helpers import Issued, issue, load_build, load_vector


@pytest.fixture(scope="session")
def copyseal_vectors() -> Any:
    """The committed ``tests/vectors/copyseal.json``."""
    return load_vector("copyseal.json")


@pytest.fixture(scope="session")
def rebuilt_vectors() -> Any:
    """What ``tests/vectors/build.py`` produces from today's code."""
    return load_build().build()


@pytest.fixture(scope="session")
def issued() -> Issued:
    """A certificate for entry 5 of a 13-leaf tree, built without a store."""
    return issue(13, 5)
