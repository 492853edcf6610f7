"""The trust root: which logs, witnesses and chains a verifier trusts.

A certificate carries its log's verifier key, but anyone can run a log under any name and
issue certificates signed by their own key: the key in the certificate proves nothing about
who runs the log. A verifier trusts what its trust root lists instead. Schema, version 1::

    {"format": "copyseal/trust-root", "version": 1,
     "logs": [{"origin": "example.com/log", "vkey": "example.com/log+1a2b3c4d+AQ…",
               "url": "https://example.com"}],
     "witnesses": {"keys": ["witness.example/w1+5e6f7a8b+BA…"], "quorum": 1},
     "chains": [{"chain": "eip155:1", "contract": "0x5aAe…"}]}

Every member is required except a log's ``url``; unknown members are refused. Log keys are
Ed25519 (note type 0x01) and named by their origin; witness keys are C2SP
tlog-cosignature/v1 keys (type 0x04); several keys may be listed for one origin (a key
rotation). ``quorum`` is how many listed witnesses must have cosigned a certificate's
checkpoint: 0 exactly when no witness is listed. The witness policy applies to every log
in the root. Chains are CAIP-2 EIP-155 chain IDs with the EIP-55 spelling of the anchoring
contract.

The root's identifier is the first 8 hex digits of the SHA-256 of its RFC 8785 encoding,
with each list in sorted order, so two roots that list the same things have the same ID
however they were written.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from copyseal.core.anchor import checksum_address
from copyseal.core.encoding import jcs, parse_json
from copyseal.core.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteVerifier
from copyseal.errors import (
    ForeignLog,
    MalformedDocument,
    UnsupportedVersion,
    UntrustedLog,
)

FORMAT = "copyseal/trust-root"
VERSION = 1
MAX_TRUST_ROOT_BYTES = 256 << 10
MAX_LOGS = 256
MAX_WITNESSES = 64
MAX_CHAINS = 64
MAX_URL = 2000
WELL_KNOWN_PATH = "/.well-known/copyseal/trust.json"

_CAIP2_EIP155 = re.compile(r"eip155:[1-9][0-9]{0,31}")
_URL = re.compile(r"https?://[!-~]+")


@dataclass(frozen=True)
class TrustedLog:
    vkey: str
    url: str | None = None

    @functools.cached_property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_vkey(self.vkey)

    @classmethod
    def of(cls, verifier: NoteVerifier, url: str | None = None) -> TrustedLog:
        return cls(verifier.to_vkey(), url)

    def to_dict(self) -> dict[str, Any]:
        out = {"origin": self.verifier.name, "vkey": self.vkey}
        return out if self.url is None else {**out, "url": self.url}


@dataclass(frozen=True, order=True)
class TrustedChain:
    chain: str
    contract: str

    def to_dict(self) -> dict[str, Any]:
        return {"chain": self.chain, "contract": self.contract}


@dataclass(frozen=True)
class TrustRoot:
    """What a verifier trusts. The lists are kept sorted, so equal roots compare equal."""

    logs: tuple[TrustedLog, ...] = ()
    witnesses: tuple[NoteVerifier, ...] = ()
    quorum: int = 0
    chains: tuple[TrustedChain, ...] = ()

    def __post_init__(self) -> None:
        logs = sorted(set(self.logs), key=lambda log: (log.verifier.name, log.vkey))
        if len({log.vkey for log in logs}) != len(logs):
            raise MalformedDocument("a trust root lists a log key twice, with two URLs")
        object.__setattr__(self, "logs", tuple(logs))
        object.__setattr__(
            self, "witnesses", tuple(sorted(set(self.witnesses), key=NoteVerifier.to_vkey))
        )
        object.__setattr__(self, "chains", tuple(sorted(set(self.chains))))
        _check_limits(self)

    # -- encoding --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "logs": [log.to_dict() for log in self.logs],
            "witnesses": {"keys": [w.to_vkey() for w in self.witnesses], "quorum": self.quorum},
            "chains": [c.to_dict() for c in self.chains],
        }

    def to_json(self) -> bytes:
        return jcs(self.to_dict()) + b"\n"

    @property
    def root_id(self) -> str:
        return hashlib.sha256(jcs(self.to_dict())).hexdigest()[:8]

    @classmethod
    def from_json(cls, data: bytes) -> TrustRoot:
        if len(data) > MAX_TRUST_ROOT_BYTES:
            raise MalformedDocument(f"trust root is larger than {MAX_TRUST_ROOT_BYTES} bytes")
        return cls.from_dict(parse_json(data, max_bytes=MAX_TRUST_ROOT_BYTES))

    @classmethod
    def from_dict(cls, obj: Any) -> TrustRoot:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise MalformedDocument("not a copyseal trust root")
        if type(obj.get("version")) is not int or obj["version"] != VERSION:
            raise UnsupportedVersion(f"trust root version {obj.get('version')!r} is not supported")
        _shape(obj, {"format", "version", "logs", "witnesses", "chains"}, set(), "trust root")
        logs, witnesses, chains = obj["logs"], obj["witnesses"], obj["chains"]
        _list(logs, MAX_LOGS, "logs")
        _list(chains, MAX_CHAINS, "chains")
        _shape(witnesses, {"keys", "quorum"}, set(), "witnesses")
        _list(witnesses["keys"], MAX_WITNESSES, "witnesses.keys")
        quorum = witnesses["quorum"]
        if type(quorum) is not int:
            raise MalformedDocument("witnesses.quorum must be an integer")
        parsed_logs = [_log(item) for item in logs]
        parsed_witnesses = [parse_witness_key(item) for item in witnesses["keys"]]
        parsed_chains = [_chain(item) for item in chains]
        for what, items in (
            ("log key", [log.vkey for log in parsed_logs]),
            ("witness key", [w.to_vkey() for w in parsed_witnesses]),
            ("chain", [(c.chain, c.contract) for c in parsed_chains]),
        ):
            if len(set(items)) != len(items):
                raise MalformedDocument(f"trust root lists a {what} twice")
        return cls(tuple(parsed_logs), tuple(parsed_witnesses), quorum, tuple(parsed_chains))

    # -- questions a verifier asks ---------------------------------------------------------

    def log_keys(self, origin: str) -> list[NoteVerifier]:
        return [log.verifier for log in self.logs if log.verifier.name == origin]

    def trusted_log_for(self, seen: NoteVerifier) -> NoteVerifier:
        """The trusted key for a certificate whose log key is ``seen``: ``seen`` itself when
        listed; a look-alike (its origin listed with other keys) is ForeignLog, an origin
        not listed at all is UntrustedLog."""
        keys = self.log_keys(seen.name)
        if seen in keys:
            return seen
        if keys:
            raise foreign_log_error(seen, keys)
        raise untrusted_log_error(seen)

    def trusts_chain(self, chain: str, contract: str) -> bool:
        return TrustedChain(chain, contract) in self.chains

    # -- changes ---------------------------------------------------------------------------

    def merge(self, other: TrustRoot) -> TrustRoot:
        """Everything either root lists; the stricter quorum. A log listed by both keeps
        this root's URL, or takes the other's if this one has none."""
        urls = {log.vkey: log.url for log in other.logs if log.url}
        mine = {log.vkey for log in self.logs}
        logs = [
            log if log.url or log.vkey not in urls else replace(log, url=urls[log.vkey])
            for log in self.logs
        ] + [log for log in other.logs if log.vkey not in mine]
        return TrustRoot(
            tuple(logs),
            self.witnesses + other.witnesses,
            max(self.quorum, other.quorum),
            self.chains + other.chains,
        )

    def without(self, selector: str) -> tuple[TrustRoot, list[str]]:
        """The root without every log, witness and chain that ``selector`` names (a key ID,
        an origin or witness name, a verifier key, a contract address or a CAIP-2 chain),
        and a description of each one removed."""
        wanted = selector.strip()

        def names_key(v: NoteVerifier) -> bool:
            return wanted in (v.key_id.hex(), v.name, v.to_vkey())

        def names_chain(c: TrustedChain) -> bool:
            return wanted.lower() in (c.contract.lower(), c.chain.lower())

        removed = [
            f"log {describe_key(log.verifier)}" for log in self.logs if names_key(log.verifier)
        ]
        removed += [f"witness {describe_key(w)}" for w in self.witnesses if names_key(w)]
        removed += [f"chain {c.contract} on {c.chain}" for c in self.chains if names_chain(c)]
        witnesses = tuple(w for w in self.witnesses if not names_key(w))
        root = TrustRoot(
            tuple(log for log in self.logs if not names_key(log.verifier)),
            witnesses,
            min(self.quorum, len(witnesses)),
            tuple(c for c in self.chains if not names_chain(c)),
        )
        return root, removed


def describe_key(verifier: NoteVerifier) -> str:
    """How a person reads a key: its name and its C2SP key ID."""
    return f"{verifier.name} (key ID {verifier.key_id.hex()})"


def untrusted_log_error(seen: NoteVerifier) -> UntrustedLog:
    return UntrustedLog(
        f"log key not trusted: the certificate's log {seen.name!r} signs with key ID "
        f"{seen.key_id.hex()}, and no trusted key of that log is known",
        origin=seen.name,
        key_id=seen.key_id.hex(),
    )


def foreign_log_error(seen: NoteVerifier, trusted: Sequence[NoteVerifier]) -> ForeignLog:
    """The certificate's log is not the trusted one. At the same origin it is a look-alike:
    another log under the name of one the verifier trusts, so both key IDs are named."""
    ids = [t.key_id.hex() for t in trusted]
    details = {"origin": seen.name, "key_id": seen.key_id.hex(), "trusted_key_ids": ids}
    if any(t.name == seen.name for t in trusted):
        return ForeignLog(
            f"certificate from another log under the same name: {seen.name!r} signed it with "
            f"key ID {seen.key_id.hex()}, but the trusted key of {seen.name!r} is "
            f"{' or '.join(ids)}",
            check="log",
            hint=(
                "Do not trust the certificate's key because its name matches: anyone can "
                "run a log under any name. If that log really changed its key, get the new "
                "key from its operator and add it to the trust root."
            ),
            remedy="look-alike-log",
            **details,
        )
    names = " or ".join(f"{t.name!r} (key ID {t.key_id.hex()})" for t in trusted)
    return ForeignLog(
        f"certificate is from another log, {seen.name!r} (key ID {seen.key_id.hex()}), not {names}",
        check="log",
        **details,
    )


def parse_log_key(vkey: Any, what: str = "log vkey") -> NoteVerifier:
    verifier = _verifier(vkey, what)
    if verifier.alg != ALG_ED25519:
        raise MalformedDocument(f"{what} must be an Ed25519 (type 0x01) note key")
    return verifier


def parse_witness_key(vkey: Any, what: str = "witness key") -> NoteVerifier:
    verifier = _verifier(vkey, what)
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise MalformedDocument(f"{what} must be a tlog-cosignature/v1 (type 0x04) key")
    return verifier


def parse_url(url: Any) -> str:
    if not isinstance(url, str) or len(url) > MAX_URL or not _URL.fullmatch(url):
        raise MalformedDocument(f"a log url is an http(s) URL of at most {MAX_URL} characters")
    return url


def parse_chain(chain: Any, contract: Any) -> TrustedChain:
    if not isinstance(chain, str) or not _CAIP2_EIP155.fullmatch(chain):
        raise MalformedDocument("a chain is CAIP-2 'eip155:<decimal chain ID>'")
    if not isinstance(contract, str):
        raise MalformedDocument("a chain's contract is an EVM address")
    spelled = checksum_address(contract)
    if spelled != contract:
        raise MalformedDocument(
            f"a chain's contract is spelled with its EIP-55 checksum: {spelled}"
        )
    return TrustedChain(chain, contract)


def _verifier(vkey: Any, what: str) -> NoteVerifier:
    if not isinstance(vkey, str):
        raise MalformedDocument(f"{what} must be a verifier key string")
    verifier = NoteVerifier.from_vkey(vkey)
    if verifier.to_vkey() != vkey:
        raise MalformedDocument(f"{what} is not in its canonical spelling")
    return verifier


def _log(item: Any) -> TrustedLog:
    _shape(item, {"origin", "vkey"}, {"url"}, "each log")
    verifier = parse_log_key(item["vkey"])
    if item["origin"] != verifier.name:
        raise MalformedDocument("a log's origin must be the name of its vkey")
    return TrustedLog.of(verifier, parse_url(item["url"]) if "url" in item else None)


def _chain(item: Any) -> TrustedChain:
    _shape(item, {"chain", "contract"}, set(), "each chain")
    return parse_chain(item["chain"], item["contract"])


def _shape(obj: Any, required: set[str], optional: set[str], what: str) -> None:
    if not isinstance(obj, dict) or not required <= set(obj) <= required | optional:
        members = ", ".join(sorted(required)) + "".join(f" [{o}]" for o in sorted(optional))
        raise MalformedDocument(f"{what} must hold exactly {members}")


def _list(value: Any, limit: int, what: str) -> None:
    if not isinstance(value, list) or len(value) > limit:
        raise MalformedDocument(f"{what} must be a list of at most {limit} items")


def _check_limits(root: TrustRoot) -> None:
    for what, items, limit in (
        ("logs", root.logs, MAX_LOGS),
        ("witnesses", root.witnesses, MAX_WITNESSES),
        ("chains", root.chains, MAX_CHAINS),
    ):
        if len(items) > limit:
            raise MalformedDocument(f"a trust root lists at most {limit} {what}")
    if root.witnesses and not 1 <= root.quorum <= len(root.witnesses):
        raise MalformedDocument(
            f"witnesses.quorum must be between 1 and the {len(root.witnesses)} "
            + ("witness" if len(root.witnesses) == 1 else "witnesses")
            + " listed"
        )
    if not root.witnesses and root.quorum != 0:
        raise MalformedDocument("witnesses.quorum must be 0 when no witness is listed")


def merged(roots: Iterable[TrustRoot]) -> TrustRoot:
    result = TrustRoot()
    for root in roots:
        result = result.merge(root)
    return result
