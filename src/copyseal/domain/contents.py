"""The content store port: the exact bytes of works registered through this service.

The log holds a work's hash, never its bytes. A creator who pasted a poem into the web form
holds no file of it, and the bytes the form registered (UTF-8, LF line endings) are what
their certificate names; so the service keeps the content of the public works it registers
with their content (web form, API text, uploads) and offers those bytes beside the
certificate. It keeps nothing of a self-custody claim sent without content, and nothing of
a private registration, whose content is the creator's secret.

Content is keyed by its SHA-256, which the store computes itself: a key always names the
bytes under it. A store holds at most ``max_bytes`` per content. Every adapter must pass
``tests/contract/test_content_store.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ContentStore(Protocol):
    max_bytes: int

    def put(self, contents: Sequence[bytes]) -> None:
        """Keep every one of ``contents`` under its SHA-256, in one transaction; content
        kept already stays as it is. :class:`ContentTooLarge` for a content over
        ``max_bytes``, :class:`EmptyContent` for an empty one, before anything is kept."""
        ...

    def get(self, sha256: bytes) -> bytes | None:
        """The content whose SHA-256 is ``sha256``, if kept."""
        ...

    def size(self, sha256: bytes) -> int | None:
        """The size of the content whose SHA-256 is ``sha256``, if kept (without reading it)."""
        ...

    def close(self) -> None: ...
