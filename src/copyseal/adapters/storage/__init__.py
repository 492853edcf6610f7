"""Storage adapters, chosen from a store URL here and nowhere else.

A home's ``config.json`` names its store (``"store": "sqlite:///copyseal.db"`` by default):

- ``sqlite:///PATH``: the embedded SQLite store, PATH relative to the home; ``sqlite:////PATH``
  for an absolute path (the convention of SQLAlchemy's URLs).

Every port of ``domain/stores.py`` opens on the same URL. A URL of another scheme is refused
with the schemes this copyseal knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from copyseal.errors import InvalidInput

if TYPE_CHECKING:
    from copyseal.domain.anchors import AnchorStore
    from copyseal.domain.log import LogStore
    from copyseal.domain.stores import Stores

DEFAULT_URL = "sqlite:///copyseal.db"
SCHEMES = ("sqlite",)
DEFAULT_MAX_CONTENT_BYTES = 50 << 20
"""How large a work may be, unless the home's ``max_content_bytes`` says otherwise."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store URL; ``path`` is resolved against the home."""

    scheme: str
    path: Path

    @classmethod
    def parse(cls, url: str, *, base: Path) -> StoreUrl:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise InvalidInput(
                f"store URL {url!r} is not one this copyseal opens",
                hint=f"Use one of: {', '.join(s + '://…' for s in SCHEMES)}.",
            )
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            raise InvalidInput(
                f"store URL {url!r} must look like sqlite:///copyseal.db (relative to the home)"
                " or sqlite:////var/lib/copyseal.db (absolute)"
            )
        relative = parts.path[1:]
        return cls(parts.scheme, Path(relative) if relative.startswith("/") else base / relative)


def check_adapters(url: str) -> None:
    """Raise ImportError now if the adapters for ``url`` cannot be imported (an extra not
    installed), before a caller writes anything it would then leave half-made."""
    StoreUrl.parse(url, base=Path("."))
    import copyseal.adapters.storage.folds_sqlite  # noqa: F401  (numpy: copyseal[registry])


def open_log(url: str, *, base: Path, background_checkpoints: bool = False) -> LogStore:
    """The log store alone, on the store ``url``."""
    from copyseal.adapters.storage.sqlite import SqliteLogStore

    path = StoreUrl.parse(url, base=base).path
    return SqliteLogStore(path, background_checkpoints=background_checkpoints)


def open_anchors(url: str, *, base: Path) -> AnchorStore:
    """The receipts of the log's anchors, on the store ``url``."""
    from copyseal.adapters.storage.anchors_sqlite import SqliteAnchorStore

    return SqliteAnchorStore(StoreUrl.parse(url, base=base).path)


def open_stores(
    url: str,
    *,
    base: Path,
    background_checkpoints: bool = False,
    max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
) -> Stores:
    """Every store of a home, on the store ``url``. A long-running service checkpoints the
    SQLite WAL in the background (``background_checkpoints``); the content store keeps
    works of at most ``max_content_bytes``."""
    # Imported here, not above: verifying needs none of the stores (a bare install).
    from copyseal.adapters.storage.accounts import SqliteAccountStore
    from copyseal.adapters.storage.catalog import SqliteWorkCatalog
    from copyseal.adapters.storage.contents_sqlite import SqliteContentStore
    from copyseal.adapters.storage.folds_sqlite import (
        SqliteLineage,
        SqliteOwnership,
        SqliteSimilarityIndex,
        fold_transactions,
    )

    log = open_log(url, base=base, background_checkpoints=background_checkpoints)
    from copyseal.domain.stores import Stores

    path = StoreUrl.parse(url, base=base).path
    folds = fold_transactions(str(path))  # one writer: a batch's folds commit together
    return Stores(
        log=log,
        similarity=SqliteSimilarityIndex(path, transactions=folds),
        lineage=SqliteLineage(path, transactions=folds),
        ownership=SqliteOwnership(path, transactions=folds),
        catalog=SqliteWorkCatalog(path, transactions=folds),
        accounts=SqliteAccountStore(path),
        anchors=open_anchors(url, base=base),
        contents=SqliteContentStore(path, max_bytes=max_content_bytes),
    )
