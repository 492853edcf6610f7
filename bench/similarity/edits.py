"""Seeded edits of texts and images, the copies the benchmark must recognise.

Text edits work on words (whitespace-separated tokens), or on characters for Chinese. A
substituted or inserted word is drawn from the same language's corpus, weighted by frequency,
so most replacements are common words, as in real rewording.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw, ImageFont, ImageOps

from copyseal.fingerprint.text import is_cjk_text, normalise_text_v1

_SENTENCE = re.compile(r"(?<=[.!?。！？…])\s+|\n+|(?<=[。！？；，])")
_CLAUSE = re.compile(r"(?<=[,;:，；：])\s*")


def tokens(text: str) -> list[str]:
    if is_cjk_text(normalise_text_v1(text)):
        return [c for c in text if not c.isspace()]
    return text.split()


def _join(toks: list[str], cjk: bool) -> str:
    return ("" if cjk else " ").join(toks)


def word_edits(text: str, rate: float, op: str, vocab: Sequence[str], rng: random.Random) -> str:
    """Apply ``round(rate × words)`` (at least one) edits of kind sub, ins, del or mix."""
    cjk = is_cjk_text(normalise_text_v1(text))
    toks = tokens(text)
    n = max(1, round(rate * len(toks)))
    for _ in range(n):
        kind = rng.choice(("sub", "ins", "del")) if op == "mix" else op
        if kind == "del" and len(toks) > 1:
            del toks[rng.randrange(len(toks))]
        elif kind == "ins" or kind == "del":
            toks.insert(rng.randrange(len(toks) + 1), rng.choice(vocab))
        else:
            i = rng.randrange(len(toks))
            word = rng.choice(vocab)
            while word == toks[i] and len(vocab) > 1:
                word = rng.choice(vocab)
            toks[i] = word
    return _join(toks, cjk)


def reorder_sentences(text: str, rng: random.Random) -> str:
    parts = [p for p in _SENTENCE.split(text) if p.strip()]
    if len(parts) < 2:
        parts = [p for p in _CLAUSE.split(text) if p.strip()]
    if len(parts) < 2:
        toks = tokens(text)
        cut = max(1, len(toks) // 2)
        cjk = is_cjk_text(normalise_text_v1(text))
        parts = [_join(toks[:cut], cjk), _join(toks[cut:], cjk)]
    order = list(range(len(parts)))
    while order == sorted(order):
        rng.shuffle(order)
    return "\n".join(parts[i].strip() for i in order)


def truncate(text: str, keep: float = 0.6) -> str:
    cut = round(len(text) * keep)
    space = text.rfind(" ", 0, cut + 1)
    return text[: space if space > cut * 0.8 else cut].rstrip()


def case_punct_space(text: str, rng: random.Random) -> str:
    out = []
    for ch in text:
        r = rng.random()
        if ch in ".,;:!?'\"-()" and r < 0.5:
            continue  # drop punctuation
        if ch.isspace():
            out.append(rng.choice((" ", "  ", "\n", "\t ")))
            continue
        out.append(ch.upper() if r < 0.3 else ch.lower() if r < 0.6 else ch)
        if r > 0.97:
            out.append(rng.choice(("!", ",", " ", "...")))
    return "".join(out)


def embed(text: str, fillers: Sequence[str], rng: random.Random) -> str:
    """Put the text in the middle of a post about three times as long (other works)."""
    want = max(40, 2 * len(text))
    before, after = [], []
    while sum(map(len, before)) + sum(map(len, after)) < want:
        (before if rng.random() < 0.5 else after).append(rng.choice(fillers))
    return "\n\n".join([*before, text, *after])


TextEdit = Callable[[str, random.Random], str]


def text_edits(vocab: Sequence[str], fillers: Sequence[str]) -> dict[str, TextEdit]:
    """The edit types of the benchmark, by name."""
    edits: dict[str, TextEdit] = {}
    for rate in (0.05, 0.10, 0.20, 0.30):
        pct = round(rate * 100)
        for op in ("sub", "ins", "del", "mix"):
            edits[f"{op} {pct}%"] = lambda t, rng, rate=rate, op=op: word_edits(
                t, rate, op, vocab, rng
            )
    edits["reorder sentences"] = reorder_sentences
    edits["truncate 60%"] = lambda t, rng: truncate(t)
    edits["case/punct/space"] = case_punct_space
    edits["embed in longer"] = lambda t, rng: embed(t, fillers, rng)
    return edits


# -- images ------------------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def overlay_text(img: Image.Image, rng: random.Random) -> Image.Image:
    """A caption band of white text with a dark outline across the lower part of the image."""
    out = img.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    size = max(10, h // 12)
    words = ("copyright", "shared", "via", "follow", "photo", "2026", "repost", "daily")
    caption = " ".join(rng.choice(words) for _ in range(4)).upper()
    y = int(h * rng.uniform(0.70, 0.85))
    draw.text(
        (w // 20, y),
        caption,
        fill=(255, 255, 255),
        font=_font(size),
        stroke_width=max(1, size // 12),
        stroke_fill=(0, 0, 0),
    )
    return out


def crop10(img: Image.Image, rng: random.Random) -> Image.Image:
    """Remove 10 % of the width and of the height, split at random between the sides."""
    w, h = img.size
    dx, dy = round(w * 0.10), round(h * 0.10)
    left, top = rng.randint(0, dx), rng.randint(0, dy)
    return img.crop((left, top, left + w - dx, top + h - dy))


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    import io

    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


ImageEdit = Callable[[Image.Image, random.Random], Image.Image]

IMAGE_EDITS: dict[str, ImageEdit] = {
    "resize 50%": lambda im, rng: im.resize(
        (im.width // 2, im.height // 2), Image.Resampling.LANCZOS
    ),
    "jpeg q30": lambda im, rng: jpeg(im, 30),
    "crop 10%": crop10,
    "grayscale": lambda im, rng: ImageOps.grayscale(im),
    "text overlay": overlay_text,
    "rotate 5°": lambda im, rng: im.convert("RGB").rotate(
        5, resample=Image.Resampling.BICUBIC, expand=False
    ),
    "flip": lambda im, rng: ImageOps.mirror(im),
}
