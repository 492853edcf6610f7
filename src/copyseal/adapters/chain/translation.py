"""Translate what web3.py and requests raise into copyseal's error tree.

Kept apart from the adapter so the table below is read, and tested, in one place::

    connection refused, timeout, HTTP 408/425/429/5xx,  transient: Unavailable
    JSON-RPC -32005 "limit exceeded"
    other HTTP and transport errors                     Unavailable (retrying will not help)
    revert "size must grow"                             ConflictError
    revert "not an anchorer", "not the owner"           InvalidInput (a configuration to fix)
    "insufficient funds"                                InvalidInput (fund the key)
    anything else from web3                             CopysealError

The revert reasons are the strings of ``CheckpointAnchor.vy``'s asserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TooManyRequests,
    Web3RPCError,
)

from copyseal.errors import ConflictError, CopysealError, InvalidInput, Unavailable

_CONFLICT_REVERTS = ("size must grow",)
_PERMISSION_REVERTS = ("not an anchorer", "not the owner")
_TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_transient(exc: BaseException) -> bool:
    """Would the same request plausibly succeed if sent again a little later?"""
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        return status in _TRANSIENT_HTTP
    if isinstance(exc, Web3RPCError):
        # -32005: "limit exceeded", the JSON-RPC convention for rate limiting.
        error = exc.rpc_response.get("error") if exc.rpc_response else None
        return isinstance(error, Mapping) and error.get("code") == -32005
    return isinstance(
        exc,
        requests.ConnectionError
        | requests.Timeout
        | ProviderConnectionError
        | RequestTimedOut
        | TooManyRequests
        | ConnectionError
        | TimeoutError,
    )


def translate(exc: BaseException, what: str, **details: Any) -> CopysealError:
    """The copyseal error for a foreign exception met while doing ``what``."""
    if is_transient(exc) or isinstance(exc, requests.RequestException):
        return Unavailable(
            f"{what}: the EVM node did not answer ({type(exc).__name__})",
            hint="Check that the node at rpc_url is running and reachable, then retry.",
            **details,
        )
    if isinstance(exc, ContractLogicError):
        reason = _revert_reason(exc)
        if reason in _CONFLICT_REVERTS:
            return ConflictError(f"{what}: {reason}", reason=reason, **details)
        if reason in _PERMISSION_REVERTS:
            return InvalidInput(
                f"{what}: {reason}",
                hint=(
                    "Ask the contract's owner to authorise this key for this log's origin "
                    "(`copyseal chain authorize`), or use the owner's key."
                ),
                reason=reason,
                **details,
            )
        return CopysealError(f"{what}: the contract reverted ({reason})", **details)
    if isinstance(exc, Web3RPCError) and "insufficient funds" in str(exc):
        return InvalidInput(
            f"{what}: the anchoring account cannot pay for gas",
            hint="Fund the account of the configured private key on this chain.",
            **details,
        )
    return CopysealError(f"{what}: the EVM node refused the request ({exc})", **details)


def _revert_reason(exc: ContractLogicError) -> str:
    message = str(exc.message or exc)
    return message.removeprefix("execution reverted").lstrip(": ").strip()
