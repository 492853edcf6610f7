"""Small deterministic inputs shared by the fingerprint tests and the vector builder."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

TEXTS = [
    "The woods are lovely, dark and deep, but I have promises to keep.",
    "Ｆｕｌｌ－ｗｉｄｔｈ ＴＥＸＴ, with punctuation!!! and   spaces",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "古池や 蛙飛び込む 水の音 — Bashō, in English: an old pond, a frog jumps in",
    "Ein Wort ist kein Pfeil, aber es trifft. Straße, MASSE, Maße.",
    "Лучше синица в руках, чем журавль в небе.",
    "봄이 오면 산에 들에 진달래 피네",
]


def sample_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A textured picture: smooth gradients, noise and a few shapes, from a seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    base = np.stack(
        [
            128 + 100 * np.sin(6 * x * rng.uniform(0.5, 2) + rng.uniform(0, 6)),
            128 + 100 * np.cos(5 * y * rng.uniform(0.5, 2) + rng.uniform(0, 6)),
            128 + 80 * np.sin(4 * (x + y) * rng.uniform(0.5, 2)),
        ],
        axis=-1,
    )
    base += rng.normal(0, 6, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return img


def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def blocky_png(width: int, height: int, seed: int = 0, blocks: int = 8) -> bytes:
    """An RGB PNG of ``blocks`` × ``blocks`` flat rectangles, written row by row: any size in
    under a megabyte (a row that repeats the one above deflates to almost nothing), without
    ever holding the pixels. What a decoding-memory attack sends."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (blocks, blocks, 3), dtype=np.uint8)
    columns = np.arange(width) * blocks // width
    same_as_above = b"\x02" + bytes(3 * width)  # filter type Up, no differences
    deflate = zlib.compressobj(1)
    parts = []
    for band in range(blocks):
        rows = (band + 1) * height // blocks - band * height // blocks
        parts.append(deflate.compress(b"\x00" + colours[band][columns].tobytes()))
        parts.append(deflate.compress(same_as_above * (rows - 1)))
    parts.append(deflate.flush())
    return _png(width, height, b"".join(parts))


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` pixels and holds none."""
    return _png(width, height, b"")


@dataclass(frozen=True)
class LargeVector:
    """A large picture: ``sample_image(seed, size)`` enlarged ``scale`` times, by nearest
    neighbour (flat blocks) or bilinear interpolation (smooth)."""

    seed: int
    size: tuple[int, int]
    scale: int
    resample: str = "nearest"
    jpeg_quality: int = 90

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LargeVector:
        size = (int(data["size"][0]), int(data["size"][1]))
        return cls(data["seed"], size, data["scale"], data["resample"], data["jpeg_quality"])


def large_image(vector: LargeVector) -> Image.Image:
    small = sample_image(vector.seed, vector.size)
    size = (small.width * vector.scale, small.height * vector.scale)
    return small.resize(size, Image.Resampling[vector.resample.upper()])


def encoded(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()
