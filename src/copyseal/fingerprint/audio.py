"""Audio fingerprints: Chromaprint comparison and the ISCC Audio-Code.

The raw Chromaprint fingerprint (computed by ``fpcalc`` in ``copyseal.adapters.media``) is a
sequence of 32-bit values, one per ~0.124 s of audio. It survives re-encoding and volume
changes; it does not survive trimming far into the clip, speed or pitch changes, or a
different recording of the same piece. **``_v1`` never changes once issued.**

v1 fields: ``audio_chromaprint_v1`` (unpadded base64url of the big-endian uint32 values, at
most the first 120 s), ``iscc_audio_v1`` (ISO 24138 Audio-Code of the same values, recorded for
interoperability).

Pure: no files, clocks, randomness or network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from copyseal.core.encoding import b64url_decode, b64url_encode
from copyseal.errors import InvalidInput, MalformedDocument

U32 = npt.NDArray[np.uint32]

MIN_FRAMES = 24
"""About 3 seconds of audio: shorter clips are too short to fingerprint meaningfully."""
MAX_FRAMES = 1000
"""About 2 minutes: the part of a clip the fingerprint covers."""
MAX_OFFSET = 80
"""Alignments tried either way, in frames (about 10 s): a copy may start a little later."""
MIN_OVERLAP = 16
AUDIO_MATCH_SIMILARITY = 0.80
"""1 − bit error rate at the best alignment. Unrelated audio scores about 0.5 and a
re-encoded copy above 0.9; chosen from Chromaprint's published behaviour, not measured here."""
INDEX_KEY_BITS = 20


@dataclass(frozen=True)
class AudioSignature:
    chromaprint: U32
    iscc: str | None = None

    def to_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "audio_chromaprint_v1": b64url_encode(self.chromaprint.astype(">u4").tobytes())
        }
        if self.iscc is not None:
            fields["iscc_audio_v1"] = self.iscc
        return fields

    @classmethod
    def from_fields(cls, fields: Any) -> AudioSignature:
        if not isinstance(fields, dict) or not isinstance(fields.get("audio_chromaprint_v1"), str):
            raise MalformedDocument("audio_chromaprint_v1 must be a base64url string")
        raw = b64url_decode(fields["audio_chromaprint_v1"], "audio_chromaprint_v1")
        if len(raw) % 4 or not MIN_FRAMES * 4 <= len(raw) <= MAX_FRAMES * 4:
            raise MalformedDocument(
                f"audio_chromaprint_v1 must hold {MIN_FRAMES} to {MAX_FRAMES} 32-bit values"
            )
        iscc = fields.get("iscc_audio_v1")
        if iscc is not None and (not isinstance(iscc, str) or not iscc.startswith("ISCC:")):
            raise MalformedDocument("iscc_audio_v1 must be an ISCC code")
        return cls(np.frombuffer(raw, dtype=">u4").astype(np.uint32), iscc)


def audio_fingerprint_v1(raw: Sequence[int], *, iscc: bool = True) -> AudioSignature:
    """The v1 audio signature from fpcalc's raw fingerprint values."""
    values = np.asarray([v & 0xFFFFFFFF for v in raw[:MAX_FRAMES]], dtype=np.uint32)
    if values.size < MIN_FRAMES:
        raise InvalidInput(
            f"the audio is too short to fingerprint: {values.size} Chromaprint frames, "
            f"at least {MIN_FRAMES} (about 3 seconds) needed",
            hint="Register longer audio, or register it by exact hash only.",
        )
    code = None
    if iscc:
        import iscc_core

        signed = values.astype(np.int64)
        signed[signed >= 1 << 31] -= 1 << 32
        code = str(iscc_core.gen_audio_code_v0(signed.tolist(), bits=64)["iscc"])
    return AudioSignature(values, code)


def audio_fingerprint(raw: Sequence[int], *, iscc: bool = True) -> AudioSignature:
    """The current audio fingerprint (v1)."""
    return audio_fingerprint_v1(raw, iscc=iscc)


def compare_chromaprint(a: U32, b: U32, *, max_offset: int = MAX_OFFSET) -> tuple[float, int]:
    """(similarity, offset): 1 − the bit error rate of the best alignment of ``b`` on ``a``.

    ``offset`` is how many frames later ``b`` starts in ``a``. Alignments that overlap by
    fewer than MIN_OVERLAP frames are not considered; (0.0, 0) if none is left.
    """
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    best = (0.0, 0)
    for offset in range(-max_offset, max_offset + 1):
        x = a[max(offset, 0) :]
        y = b[max(-offset, 0) :]
        n = min(x.size, y.size)
        if n < MIN_OVERLAP:
            continue
        errors = int(np.bitwise_count(x[:n] ^ y[:n]).sum())
        similarity = 1.0 - errors / (32.0 * n)
        if similarity > best[0]:
            best = (similarity, offset)
    return best


def is_audio_match(similarity: float) -> bool:
    return similarity >= AUDIO_MATCH_SIMILARITY


def audio_index_keys(chromaprint: U32) -> list[int]:
    """Index keys of an audio work: the distinct top 20 bits of its frames (Chromaprint
    values of a copy repeat most of these exactly), tagged apart from text and image keys."""
    top = np.unique(np.asarray(chromaprint, dtype=np.uint32) >> np.uint32(32 - INDEX_KEY_BITS))
    return [(3 << 61) | int(v) for v in top]
