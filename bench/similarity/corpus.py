"""Load the fortunes packages as a deduplicated corpus of micro-texts.

Each fortune (the text between two ``%`` lines) is one work. Cleaning removes terminal
escapes and overstrike, the ``#file`` tags of the Polish collection, trailing attribution
lines ("-- Author, Book") and the title/author lines of the Chinese poems. Kept: 20 to 1,000
characters. Duplicates are removed twice: identical normal forms, then near-duplicates (the
same quote filed twice, the Czech and Slovak collections sharing entries) found by the index
and confirmed on exact shingle sets (Jaccard ≥ 0.5 or containment ≥ 0.7) — otherwise a
genuine copy inside the corpus would count as a false match.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from copyseal.fingerprint import text as tfp
from copyseal.fingerprint.index import text_band_keys

SKIP_FILES = {"art", "ascii-art", "banner", "mario.arteascii", "translate-me"}
ZH_FILES = {"chinese", "tang300", "song100"}
PT_FILES = {"brasil"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_OVERSTRIKE = re.compile(r".\x08")
_TAG = re.compile(r"\A#\S+\n")
# Attribution lines ("\t\t-- Goethe, Maximen und Reflexionen, Nr. 738") and the title and
# author lines of the Chinese poems are the files' metadata, not the work: hundreds of
# quotes share one, which would make unrelated works look alike.
_ZH_HEADER = re.compile(r"^(题目|作者|詞牌|词牌)[:：][^\n]*\n", re.MULTILINE)
MIN_CHARS, MAX_CHARS = 20, 1000


@dataclass(frozen=True)
class Text:
    lang: str
    source: str
    body: str


def _lang(rel: Path) -> str:
    if len(rel.parts) > 1:
        return rel.parts[0]
    if rel.name in ZH_FILES:
        return "zh"
    if rel.name in PT_FILES or rel.name.startswith("mario."):
        return "pt"
    return "en"


def _strip_attribution(piece: str) -> str:
    lines = piece.split("\n")
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].lstrip().startswith(("--", "—", "―")):
            return "\n".join(lines[:i])
        if not lines[i][:1].isspace():
            break
    return piece


def _pieces(raw: str) -> list[str]:
    raw = _OVERSTRIKE.sub("", _ANSI.sub("", raw.replace("\r\n", "\n")))
    out = []
    for piece in re.split(r"(?m)^%\s*$", raw):
        if len(piece) > 4 * MAX_CHARS:
            continue
        piece = _TAG.sub("", piece.strip("\n")).strip()
        piece = _ZH_HEADER.sub("", _strip_attribution(piece)).strip()
        if MIN_CHARS <= len(piece) <= MAX_CHARS:
            out.append(piece)
    return out


def load_texts(root: Path) -> list[Text]:
    """Every fortune of the unpacked packages, in a stable order, exact duplicates removed."""
    base = root / "usr/share/games/fortunes"
    texts: list[Text] = []
    seen: set[str] = set()
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if (
            path.is_symlink()
            or not path.is_file()
            or path.suffix in {".dat", ".u8"}
            or "off" in rel.parts
            or rel.name in SKIP_FILES
        ):
            continue
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raw = path.read_bytes().decode("latin-1")
        for body in _pieces(raw):
            norm = tfp.normalise_text_v1(body)
            if norm in seen or len(tfp.shingle_hashes_v1(norm)) < tfp.MIN_SHINGLES:
                continue
            seen.add(norm)
            texts.append(Text(_lang(rel), str(rel), body))
    return texts


def load_corpus(root: Path) -> list[Text]:
    """:func:`load_texts` then :func:`drop_near_duplicates`, cached in ``bench/.cache``."""
    code = Path(__file__).read_bytes() + Path(tfp.__file__).read_bytes()
    cache = root.parent / f"corpus-{hashlib.sha256(code).hexdigest()[:16]}.pickle"
    if cache.exists():
        with cache.open("rb") as fh:
            cached: list[Text] = pickle.load(fh)
            return cached
    texts = drop_near_duplicates(load_texts(root))
    with cache.open("wb") as fh:
        pickle.dump(texts, fh)
    return texts


def drop_near_duplicates(texts: list[Text]) -> list[Text]:
    """Keep the first of every group of near-duplicate texts (exact shingle-set check)."""
    sets = [tfp.shingle_hashes_v1(tfp.normalise_text_v1(t.body)) for t in texts]
    sigs = tfp.minhash_batch_v1(sets)
    buckets: dict[int, list[int]] = {}
    keep = np.ones(len(texts), dtype=bool)
    for i in range(len(texts)):
        keys = text_band_keys(sigs[i])
        candidates = {j for key in keys.tolist() for j in buckets.get(key, ())}
        for j in candidates:
            if not keep[j]:
                continue
            inter = np.intersect1d(sets[i], sets[j], assume_unique=True).size
            small = min(sets[i].size, sets[j].size)
            union = sets[i].size + sets[j].size - inter
            if inter / union >= 0.5 or inter / small >= 0.7:
                keep[i] = False
                break
        if keep[i]:
            for key in keys.tolist():
                buckets.setdefault(key, []).append(i)
    return [t for t, k in zip(texts, keep, strict=True) if k]
