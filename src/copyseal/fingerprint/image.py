"""Image fingerprints: perceptual hashes robust to resizing, re-encoding, grey, crops, flips.

``image_fingerprint`` calls ``image_fingerprint_v1``; **a ``_v1`` never changes once issued**
(pinned by vectors in ``tests/unit/fingerprint``). Input is a decoded ``PIL.Image`` (decoding,
EXIF orientation and size limits live in ``copyseal.adapters.media``).

v1, from one grey-level version of the image (ITU-R 601 luma, alpha composited on white):

- ``image_phash_v1``: DCT pHash, 64 bits: box-average to 32×32, 2-D DCT-II, the 8×8 lowest
  frequencies against their median. Stable under resizing, JPEG, grey, small overlays.
- ``image_dhash_v1``: difference hash, 64 bits (9×8 box-averaged, left < right), a second
  opinion that keeps false matches rare.
- ``image_crops_v1``: pHashes of nine 90 % × 90 % windows (offsets 0, 5 and 10 % in each
  direction), so a copy cropped by up to 10 % still has a registered hash within reach.
- ``image_rotations_v1``: pHashes of the middle 90 % of the image turned by ±3°, so a copy
  turned by a few degrees stays close to one of them.
- ``iscc_image_v1``: the ISCC Image-Code (ISO 24138) of the same grey image, recorded for
  interoperability; matching uses the hashes above.

A mirrored copy is found by hashing the query's mirror image too (:func:`image_query_v1`).

Large images: an image of more than :data:`FINGERPRINT_PIXELS` = 2²⁴ pixels (4,096 × 4,096)
is hashed from its reduction by the smallest power of two k that brings ⌈W/k⌉ × ⌈H/k⌉
within 2²⁴ (:func:`reduction_factor`; k = 2 for every image up to the 64-megapixel decoding
limit). :func:`reduced_v1` averages k × k blocks (``Image.reduce``, with premultiplied alpha
for RGBA and LA; modes other than L, RGB, RGBA and LA are first converted to RGB, or to RGBA
when they carry transparency, as :func:`grey_v1` would), before any other step. A JPEG file
is instead decoded at scale 1/k by libjpeg's DCT scaling (``copyseal.adapters.media``): that
is v1's reduction of a JPEG. Every image of at most 2²⁴ pixels is hashed exactly as before
this rule. A larger one registered before it carries hashes of its full-size pixels; they
differ from the reduced ones by a few bits at most (measured on photos of 19–64 megapixels:
pHash ≤ 2, dHash ≤ 1, crops ≤ 4, rotations ≤ 2 bits; ``docs/similarity.md``), and matching
compares with the hashes in the claim, never recomputed, so such a work is still found.

Pure: no files, clocks, randomness or network.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from copyseal.errors import InvalidInput, MalformedDocument

F64 = npt.NDArray[np.float64]

MIN_IMAGE_SIDE = 16
"""Images smaller than 16 pixels on a side are too small to fingerprint meaningfully."""

MIN_DETAIL = 1.0
"""Images whose 32×32 grey version varies by less than one grey level (standard deviation)
are blank: every hash bit would be noise."""

CROP_FRACTION = 0.90
CROP_OFFSETS = (0.0, 0.05, 0.10)
ROTATIONS = (-3.0, 3.0)

FINGERPRINT_PIXELS = 1 << 24
"""4,096 × 4,096: a larger image is hashed from its reduction (:func:`reduced_v1`). Far more
than the hashes need (they average down to 32 × 32, and crops and rotations work from
512 pixels a side), and more than the photos v1 was first used on."""
_REDUCIBLE = ("L", "RGB", "RGBA", "LA")
_BAND_ROWS = 256

_HEX64 = re.compile("[0-9a-f]{16}")


@functools.cache
def _dct_matrix(n: int) -> F64:
    """Orthonormal DCT-II matrix: ``M @ x`` transforms the columns of ``x``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    matrix: F64 = m
    return matrix


def reduction_factor(width: int, height: int, budget: int = FINGERPRINT_PIXELS) -> int:
    """The power of two an image of ``width`` × ``height`` is reduced by before hashing."""
    k = 1
    while -(-width // k) * -(-height // k) > budget:
        k *= 2
    return k


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def reduced_v1(image: Image.Image) -> Image.Image:
    """The image v1 hashes: ``image`` itself up to :data:`FINGERPRINT_PIXELS`, else its
    k × k block averages (``k = reduction_factor(*image.size)``)."""
    k = reduction_factor(*image.size)
    if k == 1:
        return image
    mode = image.mode if image.mode in _REDUCIBLE else "RGBA" if _has_alpha(image) else "RGB"
    width, height = image.size
    out = Image.new(mode, (-(-width // k), -(-height // k)))
    # Band by band, each a whole number of blocks tall (block averages are local, so this is
    # the whole image's reduction): a mode conversion or Pillow's premultiplied copy of an
    # RGBA image then costs a band, not a second full-size image.
    rows = k * _BAND_ROWS
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(height, top + rows)))
        if band.mode != mode:
            band = band.convert(mode)
        out.paste(band.reduce(k), (0, top // k))
    return out


def grey_v1(image: Image.Image) -> Image.Image:
    """The single-channel image every v1 hash starts from."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode == "RGB":  # converting to RGB first would only copy it
        return image.convert("L")
    return image.convert("RGB").convert("L") if image.mode != "L" else image


def _bits_to_int(bits: npt.NDArray[np.bool_]) -> int:
    return int.from_bytes(np.packbits(bits.reshape(-1)).tobytes(), "big")


def phash_v1(grey: Image.Image) -> int:
    """64-bit DCT pHash of a grey image."""
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    m = _dct_matrix(32)
    low = (m @ pixels @ m.T)[:8, :8]
    return _bits_to_int(low > np.median(low))


def dhash_v1(grey: Image.Image) -> int:
    """64-bit difference hash of a grey image (is each cell darker than its right neighbour)."""
    pixels = np.asarray(grey.resize((9, 8), Image.Resampling.BOX), dtype=np.float64)
    return _bits_to_int(pixels[:, 1:] > pixels[:, :-1])


def _crop_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    cw, ch = round(width * CROP_FRACTION), round(height * CROP_FRACTION)
    boxes = []
    for fy in CROP_OFFSETS:
        for fx in CROP_OFFSETS:
            left, top = min(round(width * fx), width - cw), min(round(height * fy), height - ch)
            boxes.append((left, top, left + cw, top + ch))
    return boxes


def _iscc_image(grey: Image.Image) -> str:
    import iscc_core

    small = grey if grey.size == (32, 32) else grey.resize((32, 32), Image.Resampling.BICUBIC)
    pixels = np.asarray(small, dtype=np.uint8).reshape(-1).tolist()
    return str(iscc_core.gen_image_code_v0(pixels, bits=64)["iscc"])


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class ImageSignature:
    """What a registration claim records about an image, and all matching needs of it."""

    phash: int
    dhash: int
    crops: tuple[int, ...]
    rotations: tuple[int, ...]
    iscc: str | None = None

    def to_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "image_phash_v1": f"{self.phash:016x}",
            "image_dhash_v1": f"{self.dhash:016x}",
            "image_crops_v1": "".join(f"{c:016x}" for c in self.crops),
            "image_rotations_v1": "".join(f"{c:016x}" for c in self.rotations),
        }
        if self.iscc is not None:
            fields["iscc_image_v1"] = self.iscc
        return fields

    @classmethod
    def from_fields(cls, fields: Any) -> ImageSignature:
        if not isinstance(fields, dict):
            raise MalformedDocument("fingerprints must be a JSON object")
        phash = _hex64(fields.get("image_phash_v1"), "image_phash_v1")
        dhash = _hex64(fields.get("image_dhash_v1"), "image_dhash_v1")
        crops = _hex64s(fields.get("image_crops_v1"), "image_crops_v1", len(CROP_OFFSETS) ** 2)
        rotations = _hex64s(fields.get("image_rotations_v1"), "image_rotations_v1", len(ROTATIONS))
        iscc = fields.get("iscc_image_v1")
        if iscc is not None and (not isinstance(iscc, str) or not iscc.startswith("ISCC:")):
            raise MalformedDocument("iscc_image_v1 must be an ISCC code")
        return cls(phash=phash, dhash=dhash, crops=crops, rotations=rotations, iscc=iscc)

    @property
    def index_hashes(self) -> tuple[int, ...]:
        """The pHashes the index stores for this work: whole, crops, rotations (12 in v1)."""
        return (self.phash, *self.crops, *self.rotations)


def _hex64(value: Any, what: str) -> int:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise MalformedDocument(f"{what} must be 16 lowercase hex digits")
    return int(value, 16)


def _hex64s(value: Any, what: str, count: int) -> tuple[int, ...]:
    if not isinstance(value, str) or len(value) != 16 * count:
        raise MalformedDocument(f"{what} must be {count} hashes of 16 hex digits")
    return tuple(_hex64(value[i : i + 16], what) for i in range(0, 16 * count, 16))


def _check_size(image: Image.Image) -> None:
    if min(image.size) < MIN_IMAGE_SIDE:
        raise InvalidInput(
            f"the image is {image.width}×{image.height} pixels; at least "
            f"{MIN_IMAGE_SIDE}×{MIN_IMAGE_SIDE} are needed to fingerprint it",
            hint="Register a larger image, or register it by exact hash only.",
        )


def _check_detail(grey: Image.Image) -> None:
    small = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    if small.std() < MIN_DETAIL:
        raise InvalidInput(
            "the image is blank (one flat colour) and cannot be fingerprinted",
            hint="Register it by exact hash only.",
        )


def image_fingerprint_v1(image: Image.Image, *, iscc: bool = True) -> ImageSignature:
    """The v1 image signature recorded in a registration claim."""
    _check_size(image)
    grey = grey_v1(reduced_v1(image))
    _check_detail(grey)
    # Work from a copy of at most 512 pixels a side: the hashes look at 32×32 averages,
    # and the crops and rotations then cost little.
    small = grey.copy()
    small.thumbnail((512, 512), Image.Resampling.BOX)
    crops = tuple(phash_v1(small.crop(box)) for box in _crop_boxes(*small.size))
    centre = _crop_boxes(*small.size)[4]  # the middle 90 %: no black corners, which every
    rotations = tuple(  # rotated image would share
        phash_v1(small.rotate(angle, resample=Image.Resampling.BICUBIC).crop(centre))
        for angle in ROTATIONS
    )
    return ImageSignature(
        phash=phash_v1(grey),
        dhash=dhash_v1(grey),
        crops=crops,
        rotations=rotations,
        iscc=_iscc_image(grey) if iscc else None,
    )


@dataclass(frozen=True)
class ImageView:
    """The hashes of one view of a query: as given, or mirrored."""

    phash: int
    dhash: int
    centre: int
    """pHash of the middle 90 %, compared with the work's rotated hashes."""


@dataclass(frozen=True)
class ImageQuery:
    """Hashes of a query image and of its mirror image (for flipped copies)."""

    views: tuple[ImageView, ImageView]

    @property
    def phashes(self) -> tuple[int, ...]:
        """Every pHash the index is searched with."""
        return tuple(h for v in self.views for h in (v.phash, v.centre))


def _view(grey: Image.Image) -> ImageView:
    small = grey.copy()
    small.thumbnail((512, 512), Image.Resampling.BOX)
    centre = phash_v1(small.crop(_crop_boxes(*small.size)[4]))
    return ImageView(phash=phash_v1(grey), dhash=dhash_v1(grey), centre=centre)


def image_query_v1(image: Image.Image) -> ImageQuery:
    """The hashes a check compares with registered works (never stored)."""
    _check_size(image)
    grey = grey_v1(reduced_v1(image))
    _check_detail(grey)
    return ImageQuery(views=(_view(grey), _view(ImageOps.mirror(grey))))


def image_fingerprint(image: Image.Image, *, iscc: bool = True) -> ImageSignature:
    """The current image fingerprint (v1)."""
    return image_fingerprint_v1(image, iscc=iscc)


def image_query(image: Image.Image) -> ImageQuery:
    """The current query-side image hashes (v1)."""
    return image_query_v1(image)
