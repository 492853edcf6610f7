"""A copyseal home: the directory holding a log's key, creator keys, settings and store.

Layout (``./data`` by default, or ``$COPYSEAL_HOME``)::

    config.json     settings: origin, max_content_bytes, chain (see chain/settings.py)
    log.key         the log's Ed25519 signing key, Go note format, mode 0600
    chain.key       the anchoring key, if kept in the home, mode 0600
    keys/NAME.json  creator identities (see keystore.py), mode 0600
    copyseal.db     the SQLite store: the log, its folds, accounts, anchor receipts, and the
                    content of works registered through the service (contents_sqlite.py)
                    (another store: "store" in config.json, see adapters/storage)
    trust.json      the trust root its verifications use besides its own log (docs/formats.md)

A verifier who never ran ``init`` may keep just a ``trust.json`` in a home; the functions
``load_trust_file`` and ``save_trust_file`` need nothing else there.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copyseal.adapters.keystore import KeyStore, write_private_file
from copyseal.adapters.storage import (
    DEFAULT_MAX_CONTENT_BYTES,
    DEFAULT_URL,
    check_adapters,
    open_anchors,
    open_log,
    open_stores,
)
from copyseal.core.note import NoteSigner, NoteVerifier
from copyseal.core.trust import TrustRoot
from copyseal.errors import (
    ConflictError,
    InvalidInput,
    MalformedDocument,
    NotFound,
    UnreadablePath,
    UnsupportedVersion,
)

if TYPE_CHECKING:
    from copyseal.domain.anchors import AnchorStore
    from copyseal.domain.log import LogStore
    from copyseal.domain.stores import Stores

DEFAULT_KEY = "default"
TRUST_FILE = "trust.json"
_ORIGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~/:-]{0,199}")


def default_home() -> Path:
    return Path(os.environ.get("COPYSEAL_HOME", "data"))


@dataclass
class Home:
    path: Path
    config: dict[str, Any]
    log_signer: NoteSigner

    @property
    def keys(self) -> KeyStore:
        return KeyStore(self.path / "keys")

    @property
    def max_content_bytes(self) -> int:
        return int(self.config.get("max_content_bytes", DEFAULT_MAX_CONTENT_BYTES))

    @property
    def store_url(self) -> str:
        return str(self.config.get("store", DEFAULT_URL))

    def open_stores(self, *, background_checkpoints: bool = False) -> Stores:
        """Every store; a long-running service checkpoints the log's WAL in the background."""
        return open_stores(
            self.store_url,
            base=self.path,
            background_checkpoints=background_checkpoints,
            max_content_bytes=self.max_content_bytes,
        )

    def open_store(self) -> LogStore:
        """The log store alone."""
        return open_log(self.store_url, base=self.path)

    def open_anchors(self) -> AnchorStore:
        return open_anchors(self.store_url, base=self.path)

    def save_config(self) -> None:
        """Write ``config`` back to config.json atomically."""
        _write_config(self.path, self.config)

    @classmethod
    def open(cls, path: Path) -> Home:
        config_path = path / "config.json"
        if not config_path.exists():
            raise NotFound(
                f"{path} is not a copyseal home",
                hint=f"Create it with `copyseal init --home {path}`.",
            )
        try:
            config = json.loads(config_path.read_text())
            signer = NoteSigner.from_skey((path / "log.key").read_text())
        except (OSError, ValueError) as exc:
            raise MalformedDocument(f"home {path} is damaged: {exc}") from exc
        if signer.name != config.get("origin"):
            raise MalformedDocument(f"home {path}: log key does not match the origin")
        return cls(path, config, signer)

    @classmethod
    def init(
        cls,
        path: Path,
        *,
        origin: str,
        log_seed: bytes,
        creator_seed: bytes,
        max_content_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
    ) -> Home:
        if not _ORIGIN.fullmatch(origin):
            raise InvalidInput(f"origin {origin!r} must look like example.com/log")
        if (path / "config.json").exists():
            raise ConflictError(f"{path} is already a copyseal home")
        # Before anything is written: without copyseal[registry] the stores cannot open, and
        # a half-made home would refuse the next `init` (its log.key exists).
        check_adapters(DEFAULT_URL)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        signer = NoteSigner(origin, log_seed)
        write_private_file(path / "log.key", signer.to_skey().encode() + b"\n")
        config = {"origin": origin, "max_content_bytes": max_content_bytes, "store": DEFAULT_URL}
        home = cls(path, config, signer)
        home.keys.create(DEFAULT_KEY, seed=creator_seed)
        home.open_stores().close()
        # config.json last: its presence marks a complete home.
        _write_config(path, config)
        return home


def load_trust_file(path: Path) -> TrustRoot:
    """The trust root in the file ``path``; an empty root if there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return TrustRoot()
    except OSError as exc:
        raise UnreadablePath(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    try:
        return TrustRoot.from_json(data)
    except (MalformedDocument, UnsupportedVersion) as exc:
        raise type(exc)(f"{path}: {exc.message}") from exc


def save_trust_file(path: Path, root: TrustRoot) -> None:
    """Write ``root`` to ``path`` atomically, creating its directory (a verifier's home)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(json.dumps(root.to_dict(), indent=2, ensure_ascii=False).encode() + b"\n")
    tmp.replace(path)


def _write_config(path: Path, config: dict[str, Any]) -> None:
    tmp = path / ".config.json.tmp"
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    tmp.replace(path / "config.json")


@dataclass
class MirrorHome:
    """A mirror of a remote log: ``mirror.json`` (its URL and key) and ``mirror.db``."""

    path: Path
    url: str
    vkey: str

    def open_store(self) -> LogStore:
        return open_log("sqlite:///mirror.db", base=self.path)

    @classmethod
    def open(cls, path: Path, *, url: str | None = None, vkey: str | None = None) -> MirrorHome:
        """Open a mirror home, creating it on first use (which needs the URL and key)."""
        config_path = path / "mirror.json"
        if config_path.exists():
            try:
                saved = json.loads(config_path.read_text())
            except (OSError, ValueError) as exc:
                raise MalformedDocument(f"mirror {path} is damaged: {exc}") from exc
            if (url and url != saved["url"]) or (vkey and vkey != saved["vkey"]):
                raise ConflictError(f"{path} mirrors {saved['url']}; use another --home")
            return cls(path, saved["url"], saved["vkey"])
        if not url or not vkey:
            raise InvalidInput("a new mirror needs the log's URL and its key (--log-key)")
        NoteVerifier.from_vkey(vkey)
        path.mkdir(parents=True, exist_ok=True)
        config_path.write_text(json.dumps({"url": url, "vkey": vkey}, indent=2) + "\n")
        return cls(path, url, vkey)
