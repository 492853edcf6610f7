"""The soak's registration load, and the ledger of what the service acknowledged.

Each client is a loop on one HTTP connection pool: it makes a job (one work or a batch of
2–20; self-custody claims signed here by one of eight keys, or texts for an account's
custodial key to sign) and delivers it as a client that wants its works registered would:
a request that got no answer (the worker died under it), a ``503``, ``500``, ``408`` or
``429`` is sent again, the same bytes, until it is answered for good. A repeat is safe by
design: the same claim, or the same creator's same text, returns the registration already
logged (``200``), which is exactly what the checks afterwards hold the log to.

Every text is random words with a serial number, so no two are near-copies of each other
and anti-squatting refuses none of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from copyseal.core.keys import Signer
from copyseal.services.creator import TEXT_MEDIA_TYPE, WorkInput, prepare_register_claims

ONE = "/api/v1/register"
BATCH = "/api/v1/register/batch"
RETRY = {408, 429, 500, 502, 503, 504}  # answers that leave a registration to try again
NO_ANSWER = "no answer"
SIGNERS = 8
ACCOUNTS = 4
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Work:
    """One work to register. ``key`` names the claim it stands for: a self-custody claim by
    its signer and nonce, a custodial text by its account and content hash (the server
    signs it, so signer and nonce are known only from its certificate)."""

    key: str
    item: dict[str, Any]
    sha256: str
    signer: str | None = None
    nonce: str | None = None


@dataclass(frozen=True)
class Ack:
    work: Work
    work_id: str
    certificate: dict[str, Any]


@dataclass
class Tally:
    """What was sent and what came back."""

    sent: int = 0
    submitted: int = 0
    acks: dict[str, Ack] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)  # by status, per answer or item
    final_refusals: int = 0  # works answered for good with a refusal
    unsettled: int = 0  # works still unanswered when the soak gave up waiting
    conflicting: list[str] = field(default_factory=list)  # one claim acknowledged as 2 works

    def acknowledge(self, work: Work, body: dict[str, Any]) -> None:
        ack = Ack(work, str(body["work_id"]), body["certificate"])
        earlier = self.acks.get(work.key)
        if earlier is not None and earlier.work_id != ack.work_id:
            self.conflicting.append(f"{work.key}: {earlier.work_id} and {ack.work_id}")
        self.acks.setdefault(work.key, ack)


@dataclass(frozen=True)
class Account:
    username: str
    token: str


class Plan:
    """Makes the clients' jobs: which works, one or a batch, whose token."""

    def __init__(self, rng: random.Random, accounts: list[Account]) -> None:
        self.rng = rng
        self.accounts = accounts
        self.signers = [Signer.from_seed(rng.randbytes(32)) for _ in range(SIGNERS)]
        self.serial = 0

    def next_job(self) -> tuple[list[Work], bool, str | None]:
        signed = self.rng.random() < 0.5
        batch = self.rng.random() < 0.2
        count = self.rng.randint(2, 20) if batch else 1
        if signed:
            return self._signed(count), batch, None
        account = self.rng.choice(self.accounts)
        return self._custodial(account, count), batch, account.token

    def _text(self) -> str:
        self.serial += 1
        words = [
            "".join(self.rng.choices(_LETTERS, k=self.rng.randint(3, 9)))
            for _ in range(self.rng.randint(12, 40))
        ]
        return f"soak {self.serial}: " + " ".join(words)

    def _signed(self, count: int) -> list[Work]:
        signer = self.rng.choice(self.signers)
        inputs = [WorkInput(self._text().encode(), TEXT_MEDIA_TYPE, "soak") for _ in range(count)]
        claims = prepare_register_claims(
            inputs,
            signer,
            clock=lambda: datetime.now(UTC),
            random_bytes=os.urandom,
            max_bytes=1 << 20,
        )
        return [
            Work(
                key=f"self {c.signer} {c.nonce}",
                item={"claim": c.to_dict()},
                sha256=hashlib.sha256(w.content).hexdigest(),
                signer=c.signer,
                nonce=c.nonce,
            )
            for c, w in zip(claims, inputs, strict=True)
        ]

    def _custodial(self, account: Account, count: int) -> list[Work]:
        works = []
        for _ in range(count):
            text = self._text()
            sha = hashlib.sha256(text.encode()).hexdigest()
            item = {"text": text, "title": f"soak {self.serial}"}
            works.append(Work(f"custodial {account.username} {sha}", item, sha))
        return works


async def open_accounts(http: httpx.AsyncClient, rng: random.Random) -> list[Account]:
    """Sign up the accounts whose custodial keys sign the texts, each with an API token."""
    accounts = []
    for i in range(ACCOUNTS):
        username = f"soak{i}x{rng.randbytes(3).hex()}"
        password = rng.randbytes(16).hex()
        login = {"username": username, "password": password}
        signup = await http.post("/api/v1/accounts", json=login)
        signup.raise_for_status()
        issued = await http.post("/api/v1/tokens", json=login)
        issued.raise_for_status()
        accounts.append(Account(username, str(issued.json()["token"])))
    return accounts


async def client(
    http: httpx.AsyncClient, plan: Plan, tally: Tally, *, until: float, give_up_at: float
) -> None:
    """Deliver jobs until ``until``; finish the last one, waiting at most to ``give_up_at``."""
    while time.monotonic() < until:
        works, batch, token = plan.next_job()
        tally.submitted += len(works)
        await deliver(http, tally, works, batch=batch, token=token, give_up_at=give_up_at)


async def deliver(
    http: httpx.AsyncClient,
    tally: Tally,
    works: list[Work],
    *,
    batch: bool,
    token: str | None,
    give_up_at: float,
) -> None:
    """Send ``works`` until each is acknowledged or refused for good."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    pending, pause = works, 0.05
    while pending:
        if time.monotonic() > give_up_at:
            tally.unsettled += len(pending)
            return
        tally.sent += 1
        try:
            if batch:
                body = {"items": [w.item for w in pending]}
                response = await http.post(BATCH, json=body, headers=headers)
            else:
                response = await http.post(ONE, json=pending[0].item, headers=headers)
        except httpx.HTTPError:  # the connection broke: the worker died, or the server
            tally.refused[NO_ANSWER] += 1
            response = None
        if response is not None:
            pending = (settle_batch if batch else settle_one)(tally, pending, response)
        if pending:
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(1.0, pause * 2)


def settle_one(tally: Tally, pending: list[Work], response: httpx.Response) -> list[Work]:
    """What is left to send after the answer to one work's request."""
    if response.status_code in (200, 201):
        tally.acknowledge(pending[0], response.json())
        return []
    tally.refused[str(response.status_code)] += 1
    if response.status_code in RETRY:
        return pending
    tally.final_refusals += 1
    return []


def settle_batch(tally: Tally, pending: list[Work], response: httpx.Response) -> list[Work]:
    """What is left to send after the answer to a batch: each item is settled by its own
    result, and a batch refused whole is sent again only when its status says so."""
    if response.status_code != 200:
        tally.refused[str(response.status_code)] += 1
        if response.status_code in RETRY:
            return pending
        tally.final_refusals += len(pending)
        return []
    results = response.json()["results"]
    again = []
    for work, result in zip(pending, results, strict=True):
        if result["ok"]:
            tally.acknowledge(work, result)
            continue
        status = int(result["problem"]["status"])
        tally.refused[f"{status} (item)"] += 1
        if status in RETRY:
            again.append(work)
        else:
            tally.final_refusals += 1
    return again
