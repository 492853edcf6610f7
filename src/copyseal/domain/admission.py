"""What a registry admits from a submitter, beyond what a logged leaf may hold.

``core/claims.py`` decides what a claim *is*, and logs written by any version of copyseal
keep parsing, auditing and mirroring under its rules. A registry taking a new claim holds
it to more, here, so that nothing it logs from now on can trip what reads the log later:

- **fingerprints**: one complete set of a kind this registry knows (text, image or audio),
  each field well formed and of its exact length. A name outside the set is refused; a
  newer copyseal that adds a fingerprint admits it with its own rule. Whatever is derived
  from an admitted claim (index keys, similarity checks) can then trust its fingerprints.
- **titles**: one line of text. Control characters (C0, DEL, C1), line and paragraph
  separators, and the explicit bidirectional embeddings, overrides and isolates
  (U+202A–U+202E, U+2066–U+2069) are refused: they hide text, or make it read in another
  order than it is stored. The marks U+200E, U+200F and U+061C stay: right-to-left titles
  need them, and they reorder nothing beyond their neighbours.

Titles logged before these rules, or by another registry, may still hold such characters:
displays that cannot isolate text pass it through :func:`visible_text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.kinds import ClaimKind
from copyseal.errors import InvalidInput, MalformedDocument
from copyseal.fingerprint.audio import AudioSignature
from copyseal.fingerprint.image import ImageSignature
from copyseal.fingerprint.text import TextSignature

UNSAFE_IN_TITLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What a title may not hold, and what :func:`visible_text` spells out."""


@dataclass(frozen=True)
class FingerprintSet:
    kind: str
    required: frozenset[str]
    iscc_field: str
    iscc_header: str
    """The first three base32 characters of the kind's 64-bit ISCC code: its header."""
    decode: Callable[[Any], object]

    @property
    def names(self) -> frozenset[str]:
        return self.required | {self.iscc_field}

    def check_iscc(self, code: Any) -> None:
        # Header (main type, subtype, version, length) and 64 bits: 16 base32 characters.
        if not isinstance(code, str) or not re.fullmatch(
            f"ISCC:{self.iscc_header}[A-Z2-7]{{13}}", code
        ):
            raise MalformedDocument(
                f"{self.iscc_field} must be a 64-bit ISCC code (ISCC:{self.iscc_header}…)"
            )


FINGERPRINT_SETS = (
    FingerprintSet(
        "text",
        frozenset({"text_sha256_norm_v1", "text_minhash_v1", "text_shingles_v1"}),
        "iscc_text_v1",
        "EAA",
        TextSignature.from_fields,
    ),
    FingerprintSet(
        "image",
        frozenset({"image_phash_v1", "image_dhash_v1", "image_crops_v1", "image_rotations_v1"}),
        "iscc_image_v1",
        "EEA",
        ImageSignature.from_fields,
    ),
    FingerprintSet(
        "audio",
        frozenset({"audio_chromaprint_v1"}),
        "iscc_audio_v1",
        "EIA",
        AudioSignature.from_fields,
    ),
)


def check_fingerprints(fields: Any) -> None:
    """Raise MalformedDocument unless ``fields`` is empty or one complete, well-formed set;
    the ISCC code of a set is optional."""
    if not isinstance(fields, Mapping):
        raise MalformedDocument("fingerprints must be a JSON object")
    names = set(fields)
    if not names:
        return
    found = next((s for s in FINGERPRINT_SETS if names & s.names), None)
    if found is None:
        known = ", ".join(sorted(n for s in FINGERPRINT_SETS for n in s.names))
        raise MalformedDocument(
            f"unknown fingerprints {', '.join(sorted(names))}",
            hint=f"This registry admits these fingerprints: {known}.",
        )
    if extra := names - found.names:
        raise MalformedDocument(
            f"{found.kind} fingerprints cannot also hold {', '.join(sorted(extra))}"
        )
    if missing := found.required - names:
        raise MalformedDocument(f"{found.kind} fingerprints lack {', '.join(sorted(missing))}")
    found.decode(dict(fields))
    if found.iscc_field in fields:
        found.check_iscc(fields[found.iscc_field])


# -- titles -----------------------------------------------------------------------------------


def check_title(title: str, *, label: str | None = None) -> None:
    """Raise InvalidInput if ``title`` is not one line of plain text (see above)."""
    found = UNSAFE_IN_TITLE.search(title)
    if found is None:
        return
    char = found.group()
    name = unicodedata.name(char, "a control character")
    where = f"{label}: the title" if label else "the title"
    raise InvalidInput(
        f"{where} holds U+{ord(char):04X} ({name}) at position {found.start() + 1}; "
        "a title is one line of text",
        hint="Remove line breaks, control characters and bidirectional overrides or "
        "isolates from the title.",
        label=label,
    )


def visible_text(text: str) -> str:
    """``text`` with each character a title may not hold spelled ``<U+202E>``, for displays
    that cannot isolate it (a terminal, a PDF, a page's title)."""
    return UNSAFE_IN_TITLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


# -- claims -----------------------------------------------------------------------------------


def check_admissible(claim: Claim, kind: ClaimKind) -> None:
    """Raise an InvalidInput if a registry should not log ``claim`` (of ``kind``, its body
    valid), parsable as it is."""
    title = kind.describe(claim.body).get("title")
    if isinstance(title, str):
        check_title(title)
    check_fingerprints(kind.fingerprints(claim.body))
