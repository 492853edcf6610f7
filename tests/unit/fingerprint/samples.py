"""Small deterministic inputs shared by the fingerprint tests and the vector builder."""

from __future__ import annotations

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
