"""Registration as the web service takes it: signed claims, or content from an account.

Two kinds of item, mixed freely in one batch:

- a **signed claim** (self-custody): the caller signed it with their own key. Anyone may
  submit one, because the signature is the authority. When an account submits it, the claim's
  signer must also be a key that account controls, so an account never gathers works signed
  by keys it does not hold.
- **content** (custodial): an account asks the server to sign a register claim with the
  account's custodial key. Needs an account, and that account's own key.

Every item is checked in its own slot: one bad item does not sink the others. All claims of
a request go to the registry in one call, so they share one group commit.

The content of a public work registered here with its content is kept in the content store
(``domain/contents.py``), after the registration commits, so the certificate page can offer
the exact bytes the certificate names. A claim sent without content keeps nothing; a private
registration keeps nothing (its claim names a commitment, not the content's hash).
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Sequence
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.encoding import jcs
from copyseal.core.kinds import content_of, read
from copyseal.domain.accounts import Account
from copyseal.domain.contents import ContentStore
from copyseal.errors import CopysealError, InvalidInput, Unauthenticated
from copyseal.services.accounts import Accounts
from copyseal.services.batch import Batches
from copyseal.services.creator import (
    TEXT_MEDIA_TYPE,
    WorkInput,
    check_work,
)
from copyseal.services.registry import Clock, Registration, Registry

# A log leaf must fit the uint16 length prefix of a tlog-tiles entry bundle (65,535 bytes);
# a claim of 16 KiB leaves ample room for the leaf's envelope.
log = logging.getLogger("copyseal.submission")

MAX_CLAIM_BYTES = 16 * 1024
MAX_BATCH = 1000
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")

Item = WorkInput | Any  # a WorkInput (content), or a decoded JSON claim
Outcome = Registration | CopysealError


def media_type_for(filename: str | None, declared: str | None) -> str:
    """The media type to register for an upload: the declared one when it is well formed,
    else a guess from the file name; text types say they are UTF-8, as the CLI's do."""
    base = (declared or "").split(";")[0].strip().lower()
    if not _MEDIA_TYPE.fullmatch(base) or base == "application/octet-stream":
        guessed = mimetypes.guess_type(filename or "")[0]
        base = guessed or "application/octet-stream"
    if base == "text/plain":
        return TEXT_MEDIA_TYPE
    return base + "; charset=utf-8" if base.startswith("text/") else base


def parse_claim(raw: Any) -> Claim:
    if not isinstance(raw, dict):
        raise InvalidInput("a claim must be a JSON object")
    if len(jcs(raw)) > MAX_CLAIM_BYTES:
        raise InvalidInput(f"a claim is at most {MAX_CLAIM_BYTES} bytes")
    return Claim.from_dict(raw)


def contents_to_keep(
    claims: Sequence[Claim], contents: Sequence[bytes | None], outcomes: Sequence[Outcome]
) -> list[bytes]:
    """Of claims just registered with their contents, the contents a service keeps: those of
    works logged (or found logged) whose claim names the very bytes' SHA-256. A private
    registration names a commitment instead, and a claim sent alone has no content here."""
    return [
        content
        for claim, content, outcome in zip(claims, contents, outcomes, strict=True)
        if content is not None
        and not isinstance(outcome, CopysealError)
        and read(claim).work
        and content_of(claim) == hashlib.sha256(content).hexdigest()
    ]


class Submissions:
    def __init__(
        self,
        *,
        registry: Registry,
        accounts: Accounts,
        clock: Clock,
        random_bytes: Callable[[int], bytes],
        max_content_bytes: int,
        contents: ContentStore | None = None,
    ) -> None:
        self.registry = registry
        self.accounts = accounts
        self.clock = clock
        self.random_bytes = random_bytes
        self.max_content_bytes = max_content_bytes
        self.contents = contents

    def submit(self, items: Sequence[Item], account: Account | None) -> list[Outcome]:
        """Register every item for ``account``; one outcome per item, in order."""
        if len(items) > MAX_BATCH:
            raise InvalidInput(f"a batch holds at most {MAX_BATCH} items")
        return self.submit_mixed([(item, account) for item in items])

    def submit_mixed(self, requests: Sequence[tuple[Item, Account | None]]) -> list[Outcome]:
        """Register items of several callers at once (each item with its own caller), so
        that concurrent requests share one registry call; one outcome per item, in order."""
        results: list[Outcome | None] = [None] * len(requests)
        claims: list[Claim] = []
        contents: list[bytes | None] = []
        slots: list[int] = []
        works: dict[int, tuple[Account, list[WorkInput], list[int]]] = {}
        for i, (item, account) in enumerate(requests):
            try:
                if isinstance(item, WorkInput):
                    self._check_work(item, account)
                    assert account is not None
                    group = works.setdefault(account.id, (account, [], []))
                    group[1].append(item)
                    group[2].append(i)
                else:
                    claims.append(self._check_claim(item, account))
                    contents.append(None)
                    slots.append(i)
            except CopysealError as exc:
                results[i] = exc
        for account, inputs, work_slots in works.values():
            for slot, work, signed in zip(
                work_slots, inputs, self._sign(inputs, account), strict=True
            ):
                if isinstance(signed, CopysealError):
                    results[slot] = signed
                    continue
                claims.append(signed)
                contents.append(work.content)
                slots.append(slot)
        if claims:
            outcomes = self.registry.register(claims, contents)
            for slot, outcome in zip(slots, outcomes, strict=True):
                results[slot] = outcome
            self._keep(claims, contents, outcomes)
        return [r for r in results if r is not None]

    def _keep(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None], outcomes: Sequence[Outcome]
    ) -> None:
        """The registrations are logged and acknowledged whatever happens here: a store
        that fails costs the page its download link, never a registration."""
        if self.contents is None:
            return
        try:
            self.contents.put(contents_to_keep(claims, contents, outcomes))
        except CopysealError as exc:
            log.error("registered content was not kept: %s", exc.message)

    def submit_one(self, item: Item, account: Account | None) -> Registration:
        outcome = self.submit([item], account)[0]
        if isinstance(outcome, CopysealError):
            raise outcome
        return outcome

    def _check_work(self, work: WorkInput, account: Account | None) -> None:
        if account is None:
            raise Unauthenticated(
                "registering content needs an account: the server signs with its key",
                hint="Log in (or send an API token), or sign the claim yourself and submit it.",
            )
        check_work(work, self.max_content_bytes)

    def _check_claim(self, raw: Any, account: Account | None) -> Claim:
        claim = parse_claim(raw)
        if account is not None:
            self.accounts.require_control(account, claim.signer)
        return claim

    def _sign(self, works: Sequence[WorkInput], account: Account) -> list[Claim | CopysealError]:
        """A claim signed by the account's custodial key for each work, or the problem with
        that work alone (content that cannot be fingerprinted, say)."""
        try:
            signer = self.accounts.custodial_signer(account)
        except CopysealError as exc:
            return [exc] * len(works)
        batches = Batches(
            registry=self.registry,
            clock=self.clock,
            random_bytes=self.random_bytes,
            max_bytes=self.max_content_bytes,
            chunk=max(1, len(works)),
        )
        return [
            c for chunk in batches.prepare(works, signer, each_alone=True) for c in chunk.claims
        ]
