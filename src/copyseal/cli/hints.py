"""What to do next, in the command line's terms: the CLI's wording of each error ``remedy``
(``errors.py``). Placeholders are filled from the error's details."""

from __future__ import annotations

from copyseal.errors import CopysealError

HINTS = {
    "derivative-or-dispute": (
        "If your work builds on it, register with --derivative-of {earlier}; if you claim "
        "it is yours, use --dispute {earlier} --reason '…'."
    ),
    "smaller-content": (
        "Raise max_content_bytes in the home's config.json if this size is intended."
    ),
    "known-key": (
        "List the keys with `copyseal keys list`, or create one with `copyseal keys new NAME`."
    ),
    "trust-log-key": (
        "Get the log's verifier key from its operator, or from its "
        "/.well-known/copyseal/trust.json (`copyseal trust import URL`); check its key ID, "
        "then `copyseal trust add-log VKEY`, or pass it once with --log-key."
    ),
    "other-log-key": (
        "Pass that log's verifier key with --log-key to verify it against its own log."
    ),
    "look-alike-log": (
        "Do not trust the certificate's key because its name matches: anyone can run a log "
        "under any name. If that log really changed its key, get the new key from its "
        "operator and add it with `copyseal trust add-log`."
    ),
}


def cli_hint(exc: CopysealError) -> str:
    """The hint the CLI shows for ``exc``: its remedy in CLI terms, else its own hint."""
    return exc.hint_in(HINTS)
