"""The stores of one copyseal home, each behind its own port, opened together.

Which adapters back them is decided in one place, from the home's store URL
(``copyseal.adapters.storage.open_stores``); everything above takes this bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from copyseal.domain.accounts import AccountStore
from copyseal.domain.anchors import AnchorStore
from copyseal.domain.catalog import WorkCatalog
from copyseal.domain.contents import ContentStore
from copyseal.domain.folds import LineageStore, OwnershipStore, SimilarityIndex
from copyseal.domain.log import LogStore


@dataclass
class Stores:
    log: LogStore
    similarity: SimilarityIndex
    lineage: LineageStore
    ownership: OwnershipStore
    catalog: WorkCatalog
    accounts: AccountStore
    anchors: AnchorStore
    contents: ContentStore

    def close(self) -> None:
        for store in (
            self.contents,
            self.anchors,
            self.accounts,
            self.catalog,
            self.ownership,
            self.lineage,
            self.similarity,
            self.log,
        ):
            store.close()
