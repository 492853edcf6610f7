"""The fingerprints a register claim records, and the similarity index keys they give.

- :func:`fingerprint_fields` computes the versioned fingerprints of a work's content
  (text: normalised hash, MinHash, ISCC Text-Code; image: perceptual hashes, ISCC
  Image-Code; audio: Chromaprint; other media: none, the exact hash only).
- :func:`keys_from_fields` derives index keys from fingerprints alone, so the index is a
  pure function of the log (``services/folds.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from copyseal.adapters.image_budget import with_decoded_image
from copyseal.adapters.media import compute_chromaprint
from copyseal.errors import EmptyContent, InvalidInput
from copyseal.fingerprint import index as fx
from copyseal.fingerprint.audio import AudioSignature, audio_fingerprint, audio_index_keys
from copyseal.fingerprint.image import ImageSignature, image_fingerprint
from copyseal.fingerprint.text import TextSignature, text_fingerprint


def media_kind(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    if base.startswith("text/"):
        return "text"
    if base.startswith("image/"):
        return "image"
    if base.startswith("audio/"):
        return "audio"
    return "other"  # video and everything else: the exact hash only


def decode_text(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the text is not UTF-8", hint="Save it as UTF-8 and try again.") from exc
    if not text.strip():
        raise EmptyContent("the text is empty once whitespace is removed")
    return text


def fingerprint_fields(content: bytes, media_type: str) -> dict[str, Any]:
    """The ``fingerprints`` of a register claim for this content (empty: exact hash only).

    A text too short to fingerprint (under about eleven letters) is registered by its exact
    hash alone; a text that is empty once normalised, or an undecodable image, is refused.
    """
    kind = media_kind(media_type)
    if kind == "text":
        text = decode_text(content)
        try:
            return text_fingerprint(text).to_fields()
        except EmptyContent:
            raise
        except InvalidInput:
            return {}
    if kind == "image":
        return with_decoded_image(content, image_fingerprint).to_fields()
    if kind == "audio":
        signature = audio_signature(content, iscc=True)
        return {} if signature is None else signature.to_fields()
    return {}


def audio_signature(content: bytes, *, iscc: bool) -> AudioSignature | None:
    """Chromaprint via fpcalc; None when fpcalc is not installed or the clip is too short
    (the exact hash still protects it). Audio fpcalc cannot decode is refused."""
    try:
        raw = compute_chromaprint(content).fingerprint
    except FileNotFoundError:
        return None
    try:
        return audio_fingerprint(raw, iscc=iscc)
    except EmptyContent:
        raise
    except InvalidInput:
        return None


def keys_from_fields(fields: Mapping[str, Any]) -> list[int]:
    """The similarity index keys of a claim's fingerprints. Every logged claim is indexed
    under them, whichever way it came in, so the index is what a rebuild from the log makes.
    """
    keys: list[int] = []
    if "text_minhash_v1" in fields:
        keys = fx.text_band_keys(TextSignature.from_fields(fields).minhash).tolist()
    elif "image_phash_v1" in fields:
        keys = fx.image_work_keys(ImageSignature.from_fields(fields))
    elif "audio_chromaprint_v1" in fields:
        keys = audio_index_keys(AudioSignature.from_fields(fields).chromaprint)
    return [int(k) for k in keys]
