"""Admission rules: fingerprints a registry logs, titles it accepts, and safe display."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from copyseal.domain.admission import check_fingerprints
from copyseal.domain.titles import check_title, visible_text
from copyseal.errors import InvalidInput, MalformedDocument
from copyseal.fingerprint.audio import AudioSignature
from copyseal.services.search import fingerprint_fields
from tests.support import png_bytes

TEXT = fingerprint_fields(b"the lantern by the bridge hums of rain", "text/plain; charset=utf-8")
IMAGE = fingerprint_fields(png_bytes(3), "image/png")
AUDIO = AudioSignature(np.arange(40, dtype=np.uint32), "ISCC:EIAWUJFCEZZOJYVD").to_fields()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        TEXT,
        {k: v for k, v in TEXT.items() if k != "iscc_text_v1"},
        IMAGE,
        AUDIO,
        {"audio_chromaprint_v1": AUDIO["audio_chromaprint_v1"]},
    ],
    ids=["none", "text", "text-without-iscc", "image", "audio", "audio-without-iscc"],
)
def test_fingerprints_as_copyseal_makes_them_are_admitted(fields: dict[str, Any]) -> None:
    assert set(TEXT) == {
        "text_sha256_norm_v1",
        "text_minhash_v1",
        "text_shingles_v1",
        "iscc_text_v1",
    }
    check_fingerprints(fields)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text_minhash_v1": "AAAA"}, "text fingerprints lack"),
        ({**TEXT, "text_minhash_v1": "AAAA"}, "text_minhash_v1 must hold 192"),
        ({**TEXT, "text_minhash_v1": 7}, "text_minhash_v1 must be"),
        ({**TEXT, "text_shingles_v1": 0}, "text_shingles_v1 must be a positive integer"),
        ({**TEXT, "text_sha256_norm_v1": "AB" * 32}, "text_sha256_norm_v1 must be 64 lowercase"),
        ({**TEXT, "iscc_text_v1": "ISCC:"}, "iscc_text_v1 must be a 64-bit ISCC code"),
        ({**TEXT, "iscc_text_v1": IMAGE["iscc_image_v1"]}, "iscc_text_v1 must be a 64-bit"),
        ({**TEXT, **IMAGE}, "text fingerprints cannot also hold image_"),
        ({**TEXT, "colour_v1": "red"}, "cannot also hold colour_v1"),
        ({"text_minhash_v2": "AAAA"}, "unknown fingerprints text_minhash_v2"),
        ({**IMAGE, "image_crops_v1": IMAGE["image_crops_v1"][:-16]}, "image_crops_v1 must be 9"),
        ({**IMAGE, "image_phash_v1": "f" * 17}, "image_phash_v1 must be 16"),
        ({"audio_chromaprint_v1": "AAAA"}, "audio_chromaprint_v1 must hold 24"),
        ({**AUDIO, "iscc_audio_v1": "ISCC:EIA"}, "iscc_audio_v1 must be a 64-bit ISCC code"),
        (["text_minhash_v1"], "must be a JSON object"),
    ],
)
def test_malformed_or_unknown_fingerprints_are_refused(fields: Any, message: str) -> None:
    with pytest.raises(MalformedDocument, match=message):
        check_fingerprints(fields)


@pytest.mark.parametrize(
    "title",
    [
        "A poem",
        "Ode à la mer — été 2026",
        "诗 · 第一首",
        "قصيدة\u200f (2026)",
        "x" * 300,
        "a\u200db",
    ],
)
def test_one_line_titles_in_any_script_are_admitted(title: str) -> None:
    check_title(title)
    assert visible_text(title) == title


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("line one\nline two", "U+000A"),
        ("tab\there", "U+0009"),
        ("nul\x00", "U+0000"),
        ("del\x7f", "U+007F"),
        ("c1\x85next line", "U+0085"),
        ("csi\x9b31m", "U+009B"),
        ("one\u2028two", "U+2028"),
        ("invoice\u202egpj.exe", "U+202E"),
        ("\u202aembedded", "U+202A"),
        ("\u202dforced ltr", "U+202D"),
        ("isolate \u2067start", "U+2067"),
        ("pop \u2069", "U+2069"),
    ],
)
def test_controls_and_bidi_overrides_in_titles_are_refused(title: str, code: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(code)) as refused:
        check_title(title, label="items.2")
    assert refused.value.details["label"] == "items.2"
    assert f"<{code}>" in visible_text(title)


def test_visible_text_spells_out_every_refused_character() -> None:
    assert visible_text("invoice\u202egpj.exe\n") == "invoice<U+202E>gpj.exe<U+000A>"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F)]:
        shown = visible_text(chr(code))
        assert shown == f"<U+{code:04X}>", shown
    for code in range(0x2066, 0x206A):
        assert visible_text(chr(code)) == f"<U+{code:04X}>"
