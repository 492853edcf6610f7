"""Image fingerprints: vectors, robustness to the usual edits, matching, bad input."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageOps

from copyseal.adapters.media import decode_image
from copyseal.errors import InvalidInput, MalformedDocument
from copyseal.fingerprint import image as ifp
from copyseal.fingerprint import index as ix
from tests.unit.fingerprint.samples import LargeVector, encoded, large_image, sample_image

VECTORS = json.loads((Path(__file__).parent / "vectors" / "image_v1.json").read_text())


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: str(v["seed"]))
def test_vectors(vector: dict[str, object]) -> None:
    size = tuple(vector["size"])  # type: ignore[arg-type]
    sig = ifp.image_fingerprint_v1(sample_image(int(vector["seed"]), size))  # type: ignore[arg-type]
    assert sig.to_fields() == vector["fields"]


LARGE_VECTORS = json.loads((Path(__file__).parent / "vectors" / "image_large_v1.json").read_text())


@pytest.mark.parametrize("vector", LARGE_VECTORS, ids=lambda v: str(v["seed"]))
def test_large_image_vectors(vector: dict[str, Any]) -> None:
    """Past FINGERPRINT_PIXELS v1 hashes the image's reduction; a JPEG's comes from the
    decoder's own scaling. At the budget, the image itself."""
    large = LargeVector.from_dict(vector)
    img = large_image(large)
    assert ifp.image_fingerprint_v1(img).to_fields() == vector["fields"]
    jpeg = encoded(img, "JPEG", quality=large.jpeg_quality)
    assert hashlib.sha256(jpeg).hexdigest() == vector["jpeg_sha256"], (
        "Pillow's JPEG encoder writes other bytes now: rebuild this JPEG input, not v1"
    )
    assert ifp.image_fingerprint_v1(decode_image(jpeg)).to_fields() == vector["jpeg_fields"]


@pytest.mark.parametrize(
    ("size", "factor"),
    [
        ((4096, 4096), 1),
        ((4097, 4096), 2),
        ((16, 10**6), 1),
        ((8000, 8000), 2),
        ((20_000, 20_000), 8),
    ],
)
def test_reduction_factor(size: tuple[int, int], factor: int) -> None:
    assert ifp.FINGERPRINT_PIXELS == 4096 * 4096
    assert ifp.reduction_factor(*size) == factor


def test_a_web_copy_of_a_large_image_matches_its_reduced_fingerprints() -> None:
    img = large_image(LargeVector(7, (300, 200), 18, "bilinear"))
    registered = [
        ifp.image_fingerprint_v1(img, iscc=False),
        ifp.image_fingerprint_v1(decode_image(encoded(img, "JPEG", quality=90)), iscc=False),
    ]
    copy = img.resize((1024, 683), Image.Resampling.LANCZOS)
    query = ifp.image_query_v1(decode_image(encoded(copy, "JPEG", quality=75)))
    matches = ix.score_image(query, [0, 1], [0, 1], registered)
    assert [m.work for m in matches] == [0, 1]
    assert all(m.details["phash_distance"] <= 2 for m in matches)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _overlay(img: Image.Image) -> Image.Image:
    out = img.copy()
    ImageDraw.Draw(out).text((10, int(img.height * 0.8)), "REPOST 2026", fill=(255, 255, 255))
    return out


EDITS = {
    "resize": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "jpeg": lambda im: _jpeg(im, 30),
    "grey": ImageOps.grayscale,
    "crop": lambda im: im.crop((10, 6, im.width - 22, im.height - 18)),
    "overlay": _overlay,
    "rotate": lambda im: im.rotate(4, resample=Image.Resampling.BICUBIC),
    "flip": ImageOps.mirror,
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_copy_matches_its_source_only(edit: str) -> None:
    works = [ifp.image_fingerprint_v1(sample_image(seed), iscc=False) for seed in range(1, 7)]
    query = ifp.image_query_v1(EDITS[edit](sample_image(1)))
    matches = ix.rank_matches(ix.score_image(query, list(range(6)), list(range(6)), works))
    assert [m.work for m in matches] == [0]
    assert matches[0].details["mirrored"] == (edit == "flip")


def test_index_keys_find_the_source() -> None:
    work = ifp.image_fingerprint_v1(sample_image(4), iscc=False)
    query = ifp.image_query_v1(_jpeg(sample_image(4), 40))
    assert set(ix.image_work_keys(work)) & set(ix.image_query_keys(query))
    assert len(ix.image_work_keys(work)) <= 4 * len(work.index_hashes)


def test_fields_round_trip_and_strict() -> None:
    sig = ifp.image_fingerprint_v1(sample_image(2))
    fields = json.loads(json.dumps(sig.to_fields()))
    assert ifp.ImageSignature.from_fields(fields) == sig
    for change in (
        {"image_phash_v1": "XYZ"},
        {"image_crops_v1": "00" * 8},
        {"image_rotations_v1": None},
        {"iscc_image_v1": 7},
    ):
        with pytest.raises(MalformedDocument):
            ifp.ImageSignature.from_fields({**fields, **change})


def test_alpha_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((10, 10, 50, 50), fill=(0, 0, 0, 255))
    rgb = Image.new("RGB", (64, 64), (255, 255, 255))
    ImageDraw.Draw(rgb).ellipse((10, 10, 50, 50), fill=(0, 0, 0))
    assert ifp.image_fingerprint_v1(rgba, iscc=False) == ifp.image_fingerprint_v1(rgb, iscc=False)


def test_bad_input() -> None:
    with pytest.raises(InvalidInput, match="at least 16"):
        ifp.image_fingerprint_v1(Image.new("RGB", (15, 200)))
    with pytest.raises(InvalidInput, match="blank"):
        ifp.image_fingerprint_v1(Image.new("RGB", (200, 200), (40, 90, 200)))
    with pytest.raises(InvalidInput, match="blank"):
        ifp.image_query_v1(Image.new("L", (200, 200), 0))


def test_iscc_conformance() -> None:
    """ISO 24138 conformance data: 32×32 grey pixels in, the published Image-Code out."""
    import iscc_core

    data = json.loads((Path(iscc_core.__file__).parent / "data.json").read_text())
    for case in data["gen_image_code_v0"].values():
        pixels, bits = case["inputs"]
        if bits != 64:
            continue
        grey = Image.new("L", (32, 32))
        grey.putdata(pixels)
        assert ifp._iscc_image(grey) == case["outputs"]["iscc"]
