"""Registering a batch of works: what they declare, chunks, worker processes, the registry.

The use-case every interface calls: the CLI for files and texts, the service for an
account's custodial works. Works are signed a chunk at a time (:data:`CHUNK`); when the
registry's anti-squatting rule is a :class:`~copyseal.services.parallel.WorkerPool`, the
workers fingerprint and check the next chunk while this one is registered.

What a bad work costs depends on the caller: by default it stops the batch at its chunk
(the CLI: a creator fixes the file and runs again; chunks before it are registered), and with
``each_alone`` it fails in its own slot (the service: one broken upload fails alone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.keys import Signer
from copyseal.errors import CopysealError, InvalidInput
from copyseal.services.creator import (
    WorkInput,
    prepare_dispute_claim,
    prepare_private_claims,
    prepare_register_claims,
)
from copyseal.services.fingerprints import fingerprint_fields
from copyseal.services.parallel import WorkerPool
from copyseal.services.registry import Clock, Registration, Registry, claim_fault

CHUNK = 2000
Outcome = Registration | CopysealError


@dataclass(frozen=True)
class Declared:
    """What the works of a batch declare about themselves."""

    derivative_of: Sequence[str] = ()
    dispute: str | None = None
    reason: str | None = None
    private: bool = False

    def check(self, works: int) -> None:
        if self.dispute is not None and (self.private or self.derivative_of or not self.reason):
            raise InvalidInput("a dispute needs a reason, and is neither private nor derived")
        if self.dispute is not None and works != 1:
            raise InvalidInput("a dispute concerns exactly one work")
        if self.private and self.derivative_of:
            raise InvalidInput("a private registration publishes no lineage")


@dataclass(frozen=True)
class Prepared:
    """One chunk: its works, a private registration's salt for each (else None), and each
    work's signed claim (or, with ``each_alone``, the problem with that work)."""

    works: Sequence[WorkInput]
    salts: Sequence[bytes | None]
    claims: Sequence[Claim | CopysealError]


class Batches:
    def __init__(
        self,
        *,
        registry: Registry,
        clock: Clock,
        random_bytes: Callable[[int], bytes],
        max_bytes: int,
        chunk: int = CHUNK,
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.random_bytes = random_bytes
        self.max_bytes = max_bytes
        self.chunk = chunk

    @property
    def pool(self) -> WorkerPool | None:
        return next((p for p in self.registry.policies if isinstance(p, WorkerPool)), None)

    def register(
        self, works: Sequence[WorkInput], signer: Signer, declared: Declared = Declared()
    ) -> Iterator[tuple[Prepared, list[Outcome]]]:
        """Register ``works`` a chunk at a time; each chunk with its outcomes, in order."""
        for prepared in self.prepare(works, signer, declared):
            claims = [c for c in prepared.claims if isinstance(c, Claim)]
            outcomes = iter(self.registry.register(claims, [w.content for w in prepared.works]))
            yield (
                prepared,
                [c if isinstance(c, CopysealError) else next(outcomes) for c in prepared.claims],
            )

    def prepare(
        self,
        works: Sequence[WorkInput],
        signer: Signer,
        declared: Declared = Declared(),
        *,
        each_alone: bool = False,
    ) -> Iterator[Prepared]:
        """Each chunk's works signed: registrations, private ones, or one dispute."""
        declared.check(len(works))
        if declared.dispute is not None:
            claim = prepare_dispute_claim(
                works[0],
                signer,
                disputed=declared.dispute,
                reason=declared.reason or "",
                clock=self.clock,
                random_bytes=self.random_bytes,
                max_bytes=self.max_bytes,
            )
            yield Prepared(works, [None], [claim])
            return
        chunks = [works[i : i + self.chunk] for i in range(0, len(works), self.chunk)]
        if declared.private:
            pairs = prepare_private_claims(
                works,
                signer,
                clock=self.clock,
                random_bytes=self.random_bytes,
                max_bytes=self.max_bytes,
            )
            for i, chunk in enumerate(chunks):
                part = pairs[i * self.chunk : (i + 1) * self.chunk]
                yield Prepared(chunk, [s for _, s in part], [c for c, _ in part])
            return
        pool = self.pool
        if pool is None or each_alone:
            for chunk in chunks:
                fields = [self._fields(w, each_alone) for w in chunk]
                yield Prepared(
                    chunk, [None] * len(chunk), self._sign(chunk, fields, declared, signer)
                )
            return
        # Worker processes fingerprint and check the next chunk while this one is
        # registered: a bad work stops the batch at its chunk.
        ahead = pool.fingerprints_ahead([(w.content, w.media_type) for w in c] for c in chunks)
        for chunk, found in zip(chunks, ahead, strict=True):
            yield Prepared(chunk, [None] * len(chunk), self._sign(chunk, found, declared, signer))

    @staticmethod
    def _fields(work: WorkInput, each_alone: bool) -> dict[str, Any] | CopysealError:
        try:
            return fingerprint_fields(work.content, work.media_type)
        except Exception as exc:
            if not each_alone:
                raise
            return claim_fault(exc, "fingerprint")

    def _sign(
        self,
        chunk: Sequence[WorkInput],
        fields: Sequence[dict[str, Any] | CopysealError],
        declared: Declared,
        signer: Signer,
    ) -> list[Claim | CopysealError]:
        good = [i for i, f in enumerate(fields) if not isinstance(f, CopysealError)]
        found = [f for f in fields if not isinstance(f, CopysealError)]
        claims = iter(
            prepare_register_claims(
                [chunk[i] for i in good],
                signer,
                clock=self.clock,
                random_bytes=self.random_bytes,
                max_bytes=self.max_bytes,
                derivative_of=declared.derivative_of,
                fingerprints=lambda _: found,
            )
        )
        return [f if isinstance(f, CopysealError) else next(claims) for f in fields]
