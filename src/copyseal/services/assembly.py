"""A registry and what it needs, put together from a home's stores: the folds and their
follower, "who owns this?", and the admission rules, in one place for every interface.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from copyseal.core.note import NoteSigner
from copyseal.domain.stores import Stores
from copyseal.services.admission import AdmissionPolicy, DeclaredLinks, OwnerOnly
from copyseal.services.antisquatting import AntiSquatting
from copyseal.services.folds import (
    CatalogFold,
    Follower,
    LineageFold,
    OwnershipFold,
    SimilarityFold,
)
from copyseal.services.registry import ACCEPTED, Clock, Registry
from copyseal.services.search import SimilaritySearch


def follower_for(stores: Stores) -> Follower:
    """Every fold of a home, following its log; the sequencer folds each batch into those
    the admission rules read, readers catch up the others."""
    return Follower(
        stores.log,
        [
            SimilarityFold(stores.similarity),
            LineageFold(stores.lineage),
            OwnershipFold(stores.ownership),
            CatalogFold(stores.catalog),
        ],
        eager=("similarity", "ownership"),
    )


@dataclass
class Assembly:
    stores: Stores
    follower: Follower
    search: SimilaritySearch
    registry: Registry

    def close(self) -> None:
        self.registry.close()


def assemble(
    stores: Stores,
    *,
    log_signer: NoteSigner,
    clock: Clock,
    squatting: AdmissionPolicy | None = None,
    accepts: Collection[str] = ACCEPTED,
) -> Assembly:
    """The registry of a home. Its rules, in order: declared links name works here, a claim
    acting for a work is its owner's, and anti-squatting (``squatting``, by default checked
    in this process; a :class:`~copyseal.services.parallel.WorkerPool` checks in several)."""
    follower = follower_for(stores)
    search = SimilaritySearch(store=stores.log, index=stores.similarity, follower=follower)
    policies: list[AdmissionPolicy] = [
        DeclaredLinks(stores.log),
        OwnerOnly(stores.log, stores.ownership, follower),
        squatting if squatting is not None else AntiSquatting(search),
    ]
    registry = Registry(
        store=stores.log,
        log_signer=log_signer,
        clock=clock,
        policies=policies,
        follower=follower,
        lineage=stores.lineage,
        accepts=accepts,
    )
    return Assembly(stores, follower, search, registry)
