"""Anchoring records and the two ports anchoring needs: the chain, and a receipt store.

A registry keeps a receipt of every checkpoint it anchors, so that certificates issued before
an anchor can be upgraded later with the anchor's receipt (``copyseal certificate refresh``)
without searching the chain. The store holds nothing the chain does not: it is a cache of
the chain's answers plus what each anchor cost. Every store adapter must pass
``tests/contract/test_anchor_store.py``; the EVM adapter implements :class:`AnchorChain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from copyseal.core.anchor import Anchor


@dataclass(frozen=True)
class AnchoredCheckpoint:
    """A checkpoint this registry anchored: the anchor, and the gas its transaction used."""

    anchor: Anchor
    gas_used: int


class AnchorStore(Protocol):
    def add(self, record: AnchoredCheckpoint) -> None:
        """Keep ``record``; adding the same transaction again changes nothing."""
        ...

    def latest(self, origin: str, *, chain: str, contract: str) -> AnchoredCheckpoint | None:
        """The anchor of ``origin`` with the largest size on that chain and contract."""
        ...

    def covering(self, origin: str, size: int) -> Sequence[AnchoredCheckpoint]:
        """Per chain and contract, the anchor of ``origin`` with the smallest size ≥ ``size``
        (the earliest that covers a tree of ``size`` leaves), ordered by chain and contract."""
        ...

    def close(self) -> None: ...


class AnchorChain(Protocol):
    """One contract on one chain, as anchoring and verification use it."""

    @property
    def caip2(self) -> str: ...

    @property
    def contract(self) -> str: ...

    def anchor(self, origin: str, size: int, root: bytes) -> AnchoredCheckpoint:
        """Anchor (origin, size, root); ConflictError if the size does not grow."""
        ...

    def fetch_latest_size(self, origin: str) -> int: ...

    def fetch_root_at(self, origin: str, size: int) -> bytes:
        """The root anchored for ``origin`` at ``size``; NotFound if none."""
        ...

    def fetch_by_root(self, root: bytes, origin: str) -> Anchor:
        """The earliest anchor of ``root`` for ``origin``; NotFound if none."""
        ...

    def fetch_anchor_tx(self, tx_hash: str, origin: str) -> AnchoredCheckpoint:
        """What transaction ``tx_hash`` anchored for ``origin``; NotFound if nothing."""
        ...

    def fetch_head(self) -> int:
        """The number of the chain's latest block."""
        ...
