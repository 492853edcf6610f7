"""The media adapter: sniffing, strict bounded image decoding, fpcalc."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest
from PIL import Image

from copyseal.adapters import media
from copyseal.errors import ContentTooLarge, EmptyContent, MalformedDocument
from tests.unit.fingerprint.samples import sample_image


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x18ftypavif", "image/avif"),
        ("短诗 a poem".encode(), "text/plain; charset=utf-8"),
        (b"\x00\xfe\xff\x80", "application/octet-stream"),
    ],
)
def test_sniff(data: bytes, media_type: str) -> None:
    assert media.sniff_media_type(data) == media_type


def test_decode_round_trip() -> None:
    img = media.decode_image(_png(sample_image(1)))
    assert img.size == (320, 240)


def test_decode_applies_exif_orientation() -> None:
    img = sample_image(1)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert media.decode_image(buf.getvalue()).size == (240, 320)


def test_decode_refuses_bad_input() -> None:
    with pytest.raises(EmptyContent):
        media.decode_image(b"")
    with pytest.raises(MalformedDocument):
        media.decode_image(b"not an image at all")
    with pytest.raises(MalformedDocument):
        media.decode_image(_png(sample_image(2))[:300])
    with pytest.raises(ContentTooLarge):
        media.decode_image(_png(sample_image(2)), max_pixels=1000)
    with pytest.raises(ContentTooLarge):
        media.decode_image(_png(sample_image(2)), max_bytes=100)


def _wav(seconds: float = 6.0, rate: int = 11025) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            t = i / rate
            f = 220 * (1 + int(t * 4) % 5)  # a little tune: the pitch changes 4 times a second
            frames += struct.pack("<h", int(12000 * math.sin(2 * math.pi * f * t)))
        out.writeframes(bytes(frames))
    return buf.getvalue()


def test_fpcalc_missing() -> None:
    with pytest.raises(FileNotFoundError):
        media.compute_chromaprint(_wav(1.0), fpcalc="/nonexistent/fpcalc")


@pytest.mark.skipif(
    media.fpcalc_path() is None, reason="fpcalc (libchromaprint-tools) not installed"
)
def test_fpcalc_fingerprints_audio() -> None:
    from copyseal.fingerprint.audio import audio_fingerprint_v1, compare_chromaprint

    result = media.compute_chromaprint(_wav())
    assert result.duration == pytest.approx(6.0, abs=0.1)
    sig = audio_fingerprint_v1(result.fingerprint, iscc=False)
    assert compare_chromaprint(sig.chromaprint, sig.chromaprint)[0] == 1.0
    with pytest.raises(MalformedDocument):
        media.compute_chromaprint(b"this is not audio" * 100)
