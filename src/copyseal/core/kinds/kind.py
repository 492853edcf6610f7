"""What a claim kind declares: its body versions and what a logged claim of it means.

A kind is data, not a class hierarchy: a name, one strict validator per body version it
reads, and pure functions of a valid body that say what the rest of copyseal needs to know
(the content it is looked up by, the works it links to, whose work it acts for). Code that
needs one of these asks the kind; nothing outside ``core/kinds`` compares a claim's type
with a name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Body = Mapping[str, Any]
Validator = Callable[[Any], None]


@dataclass(frozen=True)
class Link:
    """A claim's declared relation to an earlier work of the same log."""

    target: str  # the earlier work's ID
    relation: str  # "derivative", "dispute", …


def _none(body: Body) -> str | None:
    return None


def _no_links(body: Body) -> tuple[Link, ...]:
    return ()


def _no_fingerprints(body: Body) -> Mapping[str, Any]:
    return {}


def _accept(body: Body) -> None:
    return None


@dataclass(frozen=True)
class ClaimKind:
    """One kind of claim. ``validators`` maps every body version this copyseal reads to its
    strict validator; ``version`` is the one it writes. The functions below are only ever
    called on a body that its version's validator accepted."""

    name: str
    version: int
    validators: Mapping[int, Validator]
    work: bool = False
    """An entry of this kind registers a work: it has a certificate, an owner and a page."""
    content: Callable[[Body], str | None] = _none
    """The hash the claim is looked up by (exact copies, repeated registrations)."""
    links: Callable[[Body], tuple[Link, ...]] = _no_links
    fingerprints: Callable[[Body], Mapping[str, Any]] = _no_fingerprints
    """The similarity fingerprints by which search finds this entry."""
    acts_for: Callable[[Body], str | None] = _none
    """The work whose current owner alone may sign a claim of this kind."""
    admit: Validator = _accept
    """Checks a registry makes of a new claim on top of its format (e.g. what a title may
    hold): stricter than reading, so that older entries still read."""
    describe: Callable[[Body], dict[str, Any]] = field(default=lambda body: {})
    """The fields a person is shown first (title, content), for ``show`` and pages."""
