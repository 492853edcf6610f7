"""The one error tree of copyseal.

Every failure a user can meet is a subclass of :class:`CopysealError`. The CLI maps the tree
to exit codes and the HTTP service to RFC 9457 problem documents, both from the attributes
declared here, so an error means the same thing everywhere::

    CopysealError                      1   500
    ├── InvalidInput                   3   400
    │   ├── EmptyContent               4   422
    │   ├── ContentTooLarge            5   413
    │   ├── UnreadablePath             6   400
    │   ├── MalformedDocument          7   400
    │   ├── UnsupportedVersion         8   400
    │   └── NotAccepted                3   422
    ├── NotFound                       9   404
    │   └── UnknownKey                10   404
    ├── VerificationError             11   422
    │   ├── UntrustedLog              11   422
    │   └── ForeignLog                12   422
    ├── ConflictError                 13   409
    ├── InconsistencyError            14   409
    ├── Unavailable                   15   503
    │   └── RateLimited               16   429
    ├── Unauthenticated               17   401
    ├── Forbidden                     18   403
    └── MissingExtra                  19   500

Exit code 2 is left to the command-line parser (usage errors). Foreign exceptions (sqlite3,
OSError, ...) are translated where they are met, with ``raise ... from exc``.

An error's ``hint`` says what to do next in words any interface can show. Where the remedy
depends on the interface (a flag on the command line, a field in the API, a choice on a web
form), the error names it with a ``remedy`` code instead, and each interface words it in its
own terms (``cli/hints.py``, ``server/problems.py``).
"""

from __future__ import annotations

from typing import Any


class CopysealError(Exception):
    """Root of every copyseal error."""

    exit_code = 1
    http_status = 500
    title = "Internal error"
    hint = ""
    remedy = ""

    def __init__(
        self, message: str, *, hint: str | None = None, remedy: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        if remedy is not None:
            self.remedy = remedy
        self.details = details

    def hint_in(self, wordings: dict[str, str]) -> str:
        """The hint in an interface's own terms: its wording of this error's ``remedy``
        (placeholders filled from the details), else the error's own hint."""
        wording = wordings.get(self.remedy)
        if wording is None:
            return self.hint
        try:
            return wording.format(**self.details)
        except (KeyError, IndexError):
            return self.hint

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description, the body of a problem document or ``--json`` error."""
        out: dict[str, Any] = {
            "error": type(self).__name__,
            "title": self.title,
            "detail": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        if self.remedy:
            out["remedy"] = self.remedy
        out.update({k: v for k, v in self.details.items() if v is not None})
        return out


class InvalidInput(CopysealError):
    exit_code = 3
    http_status = 400
    title = "Invalid input"


class EmptyContent(InvalidInput):
    exit_code = 4
    http_status = 422
    title = "Empty content"
    hint = "Register a file or text with at least one byte of content."


class ContentTooLarge(InvalidInput):
    exit_code = 5
    http_status = 413
    title = "Content too large"
    remedy = "smaller-content"


class UnreadablePath(InvalidInput):
    exit_code = 6
    title = "Unreadable path"


class MalformedDocument(InvalidInput):
    exit_code = 7
    title = "Malformed document"


class UnsupportedVersion(InvalidInput):
    exit_code = 8
    title = "Unsupported format version"
    hint = "Upgrade copyseal to read this document."


class NotAccepted(InvalidInput):
    """A well-formed claim of a kind this registry does not take from submitters."""

    http_status = 422
    title = "Claim not accepted"


class NotFound(CopysealError):
    exit_code = 9
    http_status = 404
    title = "Not found"


class UnknownKey(NotFound):
    exit_code = 10
    title = "Unknown key"
    remedy = "known-key"


class VerificationError(CopysealError):
    """A signature, hash or proof does not hold. ``check`` names the check that failed."""

    exit_code = 11
    http_status = 422
    title = "Verification failed"

    def __init__(self, message: str, *, check: str = "", **details: Any) -> None:
        super().__init__(message, check=check or None, **details)
        self.check = check


class UntrustedLog(VerificationError):
    """No trust root the verifier uses lists the certificate's log key. The certificate's
    own key proves nothing: anyone can run a log under any name."""

    title = "Log key not trusted"
    hint = (
        "Get the log's verifier key from its operator, or from its "
        "/.well-known/copyseal/trust.json, and check its key ID before trusting it."
    )
    remedy = "trust-log-key"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, check="log", **details)


class ForeignLog(VerificationError):
    """The certificate is from another log than the one trusted: another origin than a key
    pinned with --log-key, or a look-alike (the trusted origin, another key)."""

    exit_code = 12
    title = "Certificate from another log"
    hint = "Verify it against that log's own verifier key, if you have reason to trust it."
    remedy = "other-log-key"


class ConflictError(CopysealError):
    """The request contradicts an earlier claim; ``earlier`` names it."""

    exit_code = 13
    http_status = 409
    title = "Conflict with an earlier claim"


class InconsistencyError(CopysealError):
    """A log contradicts itself. ``details`` carry both checkpoints and the proof as evidence."""

    exit_code = 14
    http_status = 409
    title = "Log inconsistency"


class Unavailable(CopysealError):
    exit_code = 15
    http_status = 503
    title = "Temporarily unavailable"

    def __init__(self, message: str, *, retry_after: float = 1.0, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class RateLimited(Unavailable):
    """Too many requests from one client; ``retry_after`` says when a token is free again."""

    exit_code = 16
    http_status = 429
    title = "Too many requests"
    hint = "Wait for the number of seconds in Retry-After, then try again."


class Unauthenticated(CopysealError):
    """The request needs an account: a session cookie or an API token."""

    exit_code = 17
    http_status = 401
    title = "Authentication required"
    hint = "Log in, or send an API token as `Authorization: Bearer <token>`."


class Forbidden(CopysealError):
    """The caller is known but does not control the key, work or account it acts for."""

    exit_code = 18
    http_status = 403
    title = "Not allowed"


class MissingExtra(CopysealError):
    """The command needs an optional part of copyseal that is not installed."""

    exit_code = 19
    title = "Optional part not installed"


# Which extra brings each importable package that a bare install lacks (pyproject.toml).
EXTRA_OF_MODULE = {
    **dict.fromkeys(("numpy", "PIL", "iscc_core", "xxhash"), "registry"),
    **dict.fromkeys(
        ("fastapi", "starlette", "uvicorn", "jinja2", "multipart", "python_multipart"), "server"
    ),
    **dict.fromkeys(("markupsafe", "argon2", "reportlab", "qrcode"), "server"),
    **dict.fromkeys(("web3", "eth_account", "eth_typing", "eth_utils", "vyper"), "chain"),
    "requests": "chain",
}


def missing_extra(exc: ImportError) -> MissingExtra | None:
    """The :class:`MissingExtra` for an import that failed because an extra is not
    installed, or None when the failure is something else (a bug to let through)."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(name)
    if not isinstance(exc, ModuleNotFoundError) or extra is None:
        return None
    return MissingExtra(
        f"this command needs copyseal[{extra}]: pip install 'copyseal[{extra}]'",
        hint=f"The package {name!r} is missing; a bare `pip install copyseal` only verifies.",
        extra=extra,
        module=name,
    )
