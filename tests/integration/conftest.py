"""Fixtures for tests against a real EVM node (anvil from node_modules/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.anvil import ANVIL, MISSING, AnvilNode

# Any chain ID but a well-known one, so nothing can pass by assuming a default.
ANVIL_CHAIN_ID = 424242


@pytest.fixture(scope="module")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    if not ANVIL.exists():
        pytest.fail(MISSING, pytrace=False)
    log_path = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with AnvilNode(chain_id=ANVIL_CHAIN_ID, log_path=log_path) as node:
        yield node
