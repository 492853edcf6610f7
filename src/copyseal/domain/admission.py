"""What a registry admits from a submitter, beyond what a logged leaf may hold.

``core/claims.py`` and ``core/kinds`` decide what a claim *is*, and logs written by any
version of copyseal keep parsing, auditing and mirroring under their rules. A registry
taking a new claim holds it to more, here, so that nothing it logs from now on can trip what
reads the log later:

- **fingerprints**: one complete set of a kind this registry knows (text, image or audio),
  each field well formed and of its exact length. A name outside the set is refused; a
  newer copyseal that adds a fingerprint admits it with its own rule. Whatever is derived
  from an admitted claim (index keys, similarity checks) can then trust its fingerprints.
- **titles**: one line of text (``domain/titles.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from copyseal.core.claims import Claim
from copyseal.core.kinds import ClaimKind
from copyseal.domain.titles import check_title
from copyseal.errors import MalformedDocument
from copyseal.fingerprint.audio import AudioSignature
from copyseal.fingerprint.image import ImageSignature
from copyseal.fingerprint.text import TextSignature


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


# -- claims -----------------------------------------------------------------------------------


def check_admissible(claim: Claim, kind: ClaimKind) -> None:
    """Raise an InvalidInput if a registry should not log ``claim`` (of ``kind``, its body
    valid), parsable as it is."""
    title = kind.describe(claim.body).get("title")
    if isinstance(title, str):
        check_title(title)
    check_fingerprints(kind.fingerprints(claim.body))
