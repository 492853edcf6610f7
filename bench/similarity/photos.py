"""Photos from the wallpaper packages, deduplicated, and distractor tiles cut from them.

The packages ship the same picture at several resolutions and in light and dark variants;
one image per picture is kept (largest file of a folder or name stem, then any image whose
pHash lies within 16 bits of a kept one is dropped), and blank pictures are skipped. Every
picture is scaled to at most 1,024 pixels on its long side before use, as a web copy would be.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from PIL import Image

from copyseal.errors import InvalidInput
from copyseal.fingerprint.image import hamming, image_query_v1

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}
MAX_SIDE = 1024


def _stem(path: Path) -> str:
    parts = path.parts
    if "contents" in parts:  # plasma: Name/contents/images[_dark]/WxH.ext
        return parts[parts.index("contents") - 1]
    name = re.sub(r"(_\d+x\d+|-[dl]|_Portrait)", "", path.stem)
    return f"{path.parent.name}/{name}"


def load_photos(root: Path) -> list[Image.Image]:
    """Distinct pictures, in a stable order, scaled to ≤ MAX_SIDE pixels."""
    best: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in EXTENSIONS or "screenshot" in path.name:
            continue
        if path.is_symlink() or path.stat().st_size < 100_000:
            continue
        key = _stem(path)
        if key not in best or path.stat().st_size > best[key].stat().st_size:
            best[key] = path
    photos: list[Image.Image] = []
    hashes: list[int] = []
    for key in sorted(best):
        with Image.open(best[key]) as im:
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))
            img = im.convert("RGB")
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        try:
            h = image_query_v1(img).phash
        except InvalidInput:
            continue  # a blank picture (one flat colour)
        if all(hamming(h, other) > 16 for other in hashes):
            hashes.append(h)
            photos.append(img)
    return photos


def tiles(photo: Image.Image, count: int, rng: random.Random) -> list[Image.Image]:
    """Random crops (20-60 % of the short side, aspect 0.6-1.6), scaled to ≤ 256 pixels."""
    w, h = photo.size
    out = []
    for _ in range(count):
        side = rng.uniform(0.2, 0.6) * min(w, h)
        aspect = rng.uniform(0.6, 1.6)
        tw, th = min(w, round(side * aspect**0.5)), min(h, round(side / aspect**0.5))
        left, top = rng.randint(0, w - tw), rng.randint(0, h - th)
        tile = photo.crop((left, top, left + tw, top + th))
        tile.thumbnail((256, 256), Image.Resampling.BILINEAR)
        out.append(tile)
    return out
