"""The media adapter: sniffing, strict bounded image decoding, fpcalc."""

from __future__ import annotations

import io
import math
import struct
import wave

import numpy as np
import pytest
from PIL import Image, ImageDraw

from copyseal.adapters import media
from copyseal.errors import ContentTooLarge, EmptyContent, MalformedDocument
from tests.unit.fingerprint.samples import blocky_png, png_header, sample_image


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


# -- large images: decoded reduced ----------------------------------------------------------

LARGE = (4200, 4100)  # just over FINGERPRINT_PIXELS: v1 hashes its halving


def _large_photo(size: tuple[int, int] = LARGE) -> Image.Image:
    """A picture of ``size`` with detail at every scale (the sample image, enlarged)."""
    return sample_image(3, (420, 410)).resize(size, Image.Resampling.BILINEAR)


def _encoded(img: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def test_images_up_to_the_budget_decode_at_full_size() -> None:
    side = 4096  # FINGERPRINT_PIXELS = 4096²
    data = blocky_png(side, side)
    img = media.decode_image(data)
    assert img.size == (side, side)
    with Image.open(io.BytesIO(data)) as plain:
        assert img.tobytes() == plain.convert("RGB").tobytes()


def test_large_jpeg_is_scaled_by_the_decoder() -> None:
    data = _encoded(_large_photo(), "JPEG", quality=90)
    opened = media.open_image(data)
    # the decoder was told to scale by 1/2 before any pixel was decoded
    assert media.decoded_pixels(opened) == 2100 * 2050
    img = media.load_image(opened)
    assert img.size == (2100, 2050) and img.mode == "RGB"
    with Image.open(io.BytesIO(data)) as full:
        halved = np.asarray(full.convert("RGB").reduce(2), dtype=np.int16)
    assert np.abs(np.asarray(img, dtype=np.int16) - halved).mean() < 2.0


def _flat_large(mode: str, size: tuple[int, int] = LARGE) -> Image.Image:
    """Flat rectangles (quick to encode at any size), in ``mode``."""
    img = Image.new(mode, size)
    draw = ImageDraw.Draw(img)
    for i in range(12):
        box = (i * 331 % size[0], i * 257 % size[1], i * 331 % size[0] + 900, size[1] - i * 97)
        colour = tuple((i * 73 + c * 41) % 256 for c in range(len(mode)))
        draw.rectangle(box, fill=colour if mode != "P" else i * 20)
    return img


def test_large_png_is_reduced_by_block_averages() -> None:
    data = blocky_png(4201, 4101, blocks=37)
    img = media.decode_image(data)
    assert img.size == (2101, 2051)  # the last row and column are averages of what there is
    with Image.open(io.BytesIO(data)) as full:
        assert img.tobytes() == full.convert("RGB").reduce(2).tobytes()


def test_large_palette_and_transparent_images_are_reduced_as_grey_v1_would_see_them() -> None:
    palette = _flat_large("P")
    palette.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    img = media.decode_image(_encoded(palette, "PNG", compress_level=1))
    assert img.mode == "RGB" and img.size == (2100, 2050)
    assert img.tobytes() == palette.convert("RGB").reduce(2).tobytes()
    transparent = _flat_large("RGBA")
    img = media.decode_image(_encoded(transparent, "PNG", compress_level=1))
    assert img.mode == "RGBA" and img.size == (2100, 2050)
    assert img.tobytes() == transparent.reduce(2).tobytes()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_images_are_turned_upright_after_reducing(fmt: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = _encoded(_flat_large("RGB"), fmt, exif=exif)
    img = media.decode_image(data)
    assert img.size == (2050, 2100)
    assert 0x0112 not in img.getexif()


def test_decompression_bombs_are_refused_before_decoding() -> None:
    for side in (8001, 20_000):  # over copyseal's limit; a bomb to Pillow itself
        with pytest.raises(ContentTooLarge):
            media.decode_image(png_header(side, side))
    with pytest.raises(ContentTooLarge):
        media.decode_image(blocky_png(8001, 8001))
