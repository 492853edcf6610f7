"""Media decoding at the edge: sniff media types, decode images, run Chromaprint's fpcalc.

Everything that touches Pillow's decoders or a subprocess lives here, so the fingerprint
algorithms stay pure. Decoders are strict and bounded: empty input, oversize input, images
with too many pixels and undecodable data are refused with an :class:`InvalidInput`
subclass, and Pillow's own exceptions never escape.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from copyseal.errors import ContentTooLarge, EmptyContent, InvalidInput, MalformedDocument
from copyseal.fingerprint.image import reduced_v1, reduction_factor

MAX_IMAGE_BYTES = 50 << 20
MAX_IMAGE_PIXELS = 64_000_000
"""About 8,000 × 8,000: larger images are refused before they are decoded."""
MAX_AUDIO_BYTES = 200 << 20
FPCALC_SECONDS = 120
"""fpcalc fingerprints the first two minutes, as AcoustID does."""

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
AUDIO_TYPES = frozenset({"audio/wav", "audio/mpeg", "audio/flac", "audio/ogg", "audio/mp4"})
VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/quicktime"})

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"BM", "image/bmp"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
)


def sniff_media_type(data: bytes) -> str:
    """The media type of ``data`` from its first bytes; UTF-8 text is ``text/plain``."""
    if not data:
        raise EmptyContent("the content is empty")
    for offset, magic, media_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if data[8:12] == b"WEBP" else "audio/wav"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        return "audio/mp4" if brand in (b"M4A ", b"M4B ") else "video/mp4"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        return "audio/mpeg"  # an MPEG audio frame without an ID3 tag
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


@contextmanager
def _pillow_errors() -> Iterator[None]:
    """Pillow's exceptions, and its decompression-bomb warning, as copyseal's input errors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except ContentTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentTooLarge(f"the image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise MalformedDocument(
            "the content is not an image this registry can decode",
            hint="Supported images: PNG, JPEG, GIF, WebP, BMP, TIFF.",
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
        raise MalformedDocument(f"the image is damaged and cannot be decoded: {exc}") from exc


def open_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> Image.Image:
    """An image's header, read and checked against the limits; no pixel is decoded yet."""
    if not data:
        raise EmptyContent("the image is empty")
    if len(data) > max_bytes:
        raise ContentTooLarge(f"the image is {len(data):,} bytes; the limit is {max_bytes:,}")
    with _pillow_errors():
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise ContentTooLarge(
                f"the image is {width}×{height} pixels; the limit is {max_pixels:,} pixels"
            )
        if image.format == "JPEG":
            k = reduction_factor(width, height)
            if k > 1:  # the decoder scales by 1/2, 1/4 or 1/8 as it decodes
                image.draft(None, (max(1, width // k), max(1, height // k)))
    return image


def decoded_pixels(image: Image.Image) -> int:
    """How many pixels decoding an :func:`open_image` allocates (a JPEG's after scaling)."""
    width, height = image.size
    return width * height


def load_image(image: Image.Image) -> Image.Image:
    """Decode an :func:`open_image` into the pixels fingerprinting uses, upright by its EXIF
    orientation: a large image reduced (``reduced_v1``) before anything else touches it, and
    the full-size decode released at once."""
    with _pillow_errors():
        image.load()
        reduced = reduced_v1(image)
        if reduced is not image:
            reduced.info = image.info
            reduced.getexif().update(image.getexif())
            image.close()  # its full-size pixels go now, not when the caller is done
        ImageOps.exif_transpose(reduced, in_place=True)
    return reduced


def decode_image(
    data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES, max_pixels: int = MAX_IMAGE_PIXELS
) -> Image.Image:
    """Decode an image for fingerprinting, turned upright by its EXIF orientation; an image
    of more than ``FINGERPRINT_PIXELS`` comes reduced (see ``copyseal.fingerprint.image``).
    Strict and bounded."""
    return load_image(open_image(data, max_bytes=max_bytes, max_pixels=max_pixels))


@dataclass(frozen=True)
class Chromaprint:
    """fpcalc's raw fingerprint: one 32-bit value per ~0.124 s of audio."""

    duration: float
    fingerprint: tuple[int, ...]


def fpcalc_path() -> str | None:
    """Where Chromaprint's fpcalc is (Debian package ``libchromaprint-tools``), if anywhere."""
    return shutil.which("fpcalc")


def compute_chromaprint(
    data: bytes, *, fpcalc: str | None = None, timeout: float = 60.0
) -> Chromaprint:
    """Run fpcalc on audio bytes; raises :class:`InvalidInput` if it cannot decode them.

    Raises :class:`FileNotFoundError` if fpcalc is not installed: audio then falls back to
    its exact hash, and callers should say so.
    """
    if not data:
        raise EmptyContent("the audio is empty")
    if len(data) > MAX_AUDIO_BYTES:
        raise ContentTooLarge(f"the audio is {len(data):,} bytes; the limit is {MAX_AUDIO_BYTES:,}")
    exe = fpcalc or fpcalc_path()
    if exe is None:
        raise FileNotFoundError("fpcalc (Debian package libchromaprint-tools) is not installed")
    with tempfile.TemporaryDirectory(prefix="copyseal-audio-") as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        try:
            done = subprocess.run(
                [exe, "-raw", "-json", "-length", str(FPCALC_SECONDS), str(path)],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise InvalidInput("the audio took too long to decode") from exc
    # fpcalc 1.5 exits non-zero after "Error decoding audio frame (End of file)" although
    # its fingerprint is complete, so the output decides, not the exit status.
    try:
        out = json.loads(done.stdout)
        prints = tuple(int(v) & 0xFFFFFFFF for v in out["fingerprint"])
        duration = float(out["duration"])
    except (ValueError, KeyError, TypeError) as exc:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MalformedDocument(
            "the audio cannot be decoded" + (f": {message[-1]}" if message else "")
        ) from exc
    if not prints:
        raise InvalidInput("the audio is too short to fingerprint (under about 3 seconds)")
    return Chromaprint(duration=duration, fingerprint=prints)
