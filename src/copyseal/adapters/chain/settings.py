"""Chain settings from the home's ``config.json`` and the environment, never from code.

``config.json`` may hold a ``chain`` section (written by ``copyseal chain deploy``)::

    "chain": {"rpc_url": "http://127.0.0.1:8545", "chain_id": 31337,
              "contract_address": "0x…", "deployment_block": 12, "confirmations": 1,
              "anchor_interval_s": 600, "anchor_every_entries": 10000}

Each setting can be given or overridden by an environment variable:

    COPYSEAL_CHAIN_RPC, COPYSEAL_CHAIN_ID, COPYSEAL_CHAIN_CONTRACT,
    COPYSEAL_CHAIN_CONFIRMATIONS, COPYSEAL_CHAIN_DEPLOYMENT_BLOCK, COPYSEAL_CHAIN_KEY

The anchoring key is a secret: it comes from ``COPYSEAL_CHAIN_KEY`` or from the file
``chain.key`` in the home (mode 0600), and is never written to, or read from,
``config.json``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from copyseal.adapters.keystore import write_private_file
from copyseal.core.anchor import checksum_address
from copyseal.errors import InvalidInput, MalformedDocument

KEY_FILE = "chain.key"
ENV = {
    "rpc_url": "COPYSEAL_CHAIN_RPC",
    "chain_id": "COPYSEAL_CHAIN_ID",
    "contract_address": "COPYSEAL_CHAIN_CONTRACT",
    "confirmations": "COPYSEAL_CHAIN_CONFIRMATIONS",
    "deployment_block": "COPYSEAL_CHAIN_DEPLOYMENT_BLOCK",
}
KEY_ENV = "COPYSEAL_CHAIN_KEY"
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_INTS = ("chain_id", "confirmations", "deployment_block", "log_window")
# Settings that belong to the anchoring schedule, not to the connection.
SCHEDULE_KEYS = ("anchor_interval_s", "anchor_every_entries", "retry_initial_s", "retry_max_s")
_KNOWN = {*ENV, "log_window", *SCHEDULE_KEYS}


@dataclass(frozen=True)
class ChainSettings:
    """Where and as whom to anchor. ``contract_address`` is ``None`` only before deploying;
    ``private_key`` is ``None`` for a reader. ``deployment_block`` is where event searches
    start, ``log_window`` how many blocks one ``eth_getLogs`` request spans (public nodes
    cap it)."""

    rpc_url: str
    chain_id: int
    private_key: str | None = field(default=None, repr=False)
    contract_address: str | None = None
    confirmations: int = 1
    deployment_block: int = 0
    log_window: int = 10_000
    request_timeout: float = 10.0
    receipt_timeout: float = 120.0
    poll_interval: float = 0.5
    max_attempts: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 8.0

    @property
    def caip2(self) -> str:
        """The chain as a CAIP-2 identifier, e.g. ``eip155:1``."""
        return f"eip155:{self.chain_id}"


def chain_section(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``chain`` section of a home's config; refuses a private key stored there."""
    section = config.get("chain", {})
    if not isinstance(section, dict):
        raise MalformedDocument("config.json: 'chain' must be an object")
    if "private_key" in section or "key" in section:
        raise InvalidInput(
            "config.json must not hold the chain private key",
            hint=f"Remove it; put it in {KEY_ENV} or in the home's {KEY_FILE} (mode 0600).",
        )
    unknown = set(section) - _KNOWN
    if unknown:
        raise MalformedDocument(f"config.json: unknown chain settings {sorted(unknown)}")
    return dict(section)


def load_chain_settings(
    home: Path | None,
    config: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    require_contract: bool = True,
    **overrides: Any,
) -> ChainSettings:
    """Merge config.json, the environment and ``overrides`` (command-line options, ``None``
    meaning "not given"), in rising priority."""
    env = os.environ if env is None else env
    values = {k: v for k, v in chain_section(config).items() if k not in SCHEDULE_KEYS}
    values.update({name: env[var] for name, var in ENV.items() if env.get(var)})
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name in _INTS:
        if name in values:
            values[name] = _int(values[name], name)
    for name in ("rpc_url", "chain_id"):
        if name not in values:
            var = ENV[name]
            raise InvalidInput(
                f"no chain {name} is configured",
                hint=f"Set {var}, pass the option, or add it to config.json's 'chain' section.",
            )
    if require_contract and not values.get("contract_address"):
        raise InvalidInput(
            "no CheckpointAnchor contract address is configured",
            hint="Deploy one with `copyseal chain deploy`, or set COPYSEAL_CHAIN_CONTRACT.",
        )
    settings = ChainSettings(**values)
    key = load_private_key(home, env)
    return replace(settings, private_key=key) if key else settings


def anchoring_contract(
    config: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """The (CAIP-2 chain, EIP-55 contract) the home anchors on, None if it names none."""
    env = os.environ if env is None else env
    section = chain_section(config)
    contract = env.get(ENV["contract_address"]) or section.get("contract_address")
    chain_id = env.get(ENV["chain_id"]) or section.get("chain_id")
    if not contract or chain_id is None:
        return None
    return f"eip155:{_int(chain_id, 'chain_id')}", checksum_address(str(contract))


def load_confirmations(config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> int:
    """The configured number of confirmations an anchor needs, 1 if none is."""
    env = os.environ if env is None else env
    value = env.get(ENV["confirmations"]) or chain_section(config).get("confirmations", 1)
    confirmations = _int(value, "confirmations")
    if confirmations < 1:
        raise MalformedDocument("chain setting confirmations must be at least 1")
    return confirmations


def load_private_key(home: Path | None, env: Mapping[str, str] | None = None) -> str | None:
    """The anchoring key: COPYSEAL_CHAIN_KEY, else the home's chain.key, else None."""
    env = os.environ if env is None else env
    return env.get(KEY_ENV) or _read_key_file(home)


def key_address(private_key: str) -> str:
    """The checksum address of ``private_key``; the key itself is never quoted."""
    from eth_account import Account  # imported on use: it takes most of a second

    try:
        return str(Account.from_key(private_key).address)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the chain private key is not a valid secp256k1 key") from exc


def new_private_key() -> str:
    """A fresh secp256k1 private key, hex with 0x."""
    while True:
        key = "0x" + secrets.token_bytes(32).hex()
        if 0 < int(key, 16) < _SECP256K1_ORDER:
            return key


def reader_settings(rpc_url: str, chain_id: int, contract: str, **tuning: Any) -> ChainSettings:
    """Settings for a key-less reader (a verifier) of one contract."""
    return ChainSettings(rpc_url=rpc_url, chain_id=chain_id, contract_address=contract, **tuning)


def save_key_file(home: Path, private_key: str) -> Path:
    """Write the anchoring key to the home's ``chain.key`` (mode 0600)."""
    path = home / KEY_FILE
    write_private_file(path, private_key.encode("ascii") + b"\n")
    return path


def _read_key_file(home: Path | None) -> str | None:
    if home is None:
        return None
    path = home / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise MalformedDocument(f"cannot read {path}") from exc


def _int(value: Any, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise MalformedDocument(f"chain setting {name} must be an integer") from exc
    if isinstance(value, bool) or number < 0:
        raise MalformedDocument(f"chain setting {name} must be a non-negative integer")
    return number
