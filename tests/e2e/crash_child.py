"""A registrar that runs until it is killed: four threads register texts concurrently and
print ``ACK <work_id> <sha256>`` only after the registry has acknowledged each one."""

from __future__ import annotations

import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from copyseal.adapters.home import Home
from copyseal.services.assembly import assemble
from copyseal.services.creator import WorkInput, prepare_register_claims

home = Home.open(Path(sys.argv[1]))
registry = assemble(
    home.open_stores(), log_signer=home.log_signer, clock=lambda: datetime.now(UTC)
).registry
signer = home.keys.load("default")
lock = threading.Lock()


def worker(n: int) -> None:
    i = 0
    while True:
        batch = [
            WorkInput(f"worker {n} text {i + k} {os.urandom(4).hex()}".encode(), "text/plain", "t")
            for k in range(1 + i % 7)
        ]
        claims = prepare_register_claims(
            batch,
            signer,
            clock=lambda: datetime.now(UTC),
            random_bytes=os.urandom,
            max_bytes=1 << 20,
        )
        for outcome in registry.register(claims):
            assert not isinstance(outcome, Exception), outcome
            cert = outcome.certificate
            sha = cert.claim.body["content"]["sha256"]
            with lock:
                sys.stdout.write(f"ACK {cert.work_id} {sha}\n")
                sys.stdout.flush()
        i += len(batch)


for n in range(4):
    threading.Thread(target=worker, args=(n,), daemon=True).start()
threading.Event().wait()
