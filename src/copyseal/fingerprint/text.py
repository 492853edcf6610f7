"""Text fingerprints: normalisation, shingles, MinHash, and the ISCC Text-Code.

``text_fingerprint`` is the stable entry point; it calls ``text_fingerprint_v1``, whose
output is written into registration claims. **A ``_v1`` function never changes once issued**:
the normalisation, the shingle size, the hash constants and the byte layout of the signature
are pinned by vectors in ``tests/unit/fingerprint``. A better algorithm is a new ``_v2`` beside
it, with new field names, and both are read for as long as claims carry ``_v1``.

Pipeline (v1)::

    text ─► NFKC ─► casefold ─► punctuation, symbols, controls, spaces → one space
         ─► spaces next to CJK characters dropped                    = normalised text
         ─► SHA-256(normalised)                                       text_sha256_norm_v1
         ─► character shingles (2 characters from a CJK one, 4 otherwise), 64-bit hashed
         ─► 192 MinHash values (multiply-shift on the 64-bit hashes)  text_minhash_v1

Everything is vectorised with numpy: the shingle hashes are a polynomial over code points,
and :func:`text_fingerprints_v1` computes MinHash for a whole batch in a few matrix passes.

The ISCC Text-Code (ISO 24138, ``iscc-core``) is recorded for interoperability only; it is not
used for matching (64-bit codes miss most copies with one word in five changed).

Pure: no files, clocks, randomness or network.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from copyseal.core.encoding import b64url_decode, b64url_encode
from copyseal.errors import ContentTooLarge, EmptyContent, InvalidInput, MalformedDocument
from copyseal.fingerprint.iscc_text import iscc_text_codes

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]

NUM_PERM = 192
"""MinHash values per signature (v1)."""

SHINGLE_LATIN = 4
"""Characters per shingle for alphabetic text (v1)."""

SHINGLE_CJK = 2
"""Characters per shingle starting at a Han, kana or Hangul character (v1)."""

MIN_SHINGLES = 8
"""Texts with fewer distinct shingles are too short to fingerprint meaningfully: about 11
characters of alphabetic text, or 9 CJK characters."""

MAX_TEXT_CHARS = 100_000
"""Longer texts are refused; micro-content is 20 to 1,000 characters."""

# Frozen constants of v1. Changing any of them changes every text_minhash_v1 ever issued.
S = TypeVar("S", bound=np.generic)

_SEED_A = 0x9E3779B97F4A7C15
_SEED_B = 0xD1B54A32D192ED03
_POLY = 0x100000001B3  # the 64-bit FNV prime, as the base of the shingle polynomial


def _splitmix64(x: U64) -> U64:
    """The SplitMix64 finaliser, elementwise (wrapping uint64 arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def distinct(values: npt.NDArray[S]) -> npt.NDArray[S]:
    """The sorted distinct values of a 1-D array: ``np.unique``, without its hash table,
    which is several times slower for integers (numpy 2.4: 1.3 s against 10 ms for 1.6M)."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _permutations() -> tuple[U64, U64]:
    """NUM_PERM multiply-shift hash functions (odd multipliers), derived from fixed seeds."""
    idx = np.arange(1, NUM_PERM + 1, dtype=np.uint64)
    a = _splitmix64(idx * np.uint64(_SEED_A)) | np.uint64(1)
    b = _splitmix64(idx * np.uint64(_SEED_B))
    return a, b


_PERM_A, _PERM_B = _permutations()


# -- normalisation --------------------------------------------------------------------------

_FOLD_CATEGORIES = ("P", "S", "C", "Z")
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u31ff"  # Bopomofo, Hangul compatibility Jamo, Katakana extension
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")
_CJK_SPANS = tuple((ord(m.group(1)), ord(m.group(2))) for m in re.finditer("(.)-(.)", _CJK_RANGES))
_SPACE_NEAR_CJK = re.compile(f"(?<=[{_CJK_RANGES}]) | (?=[{_CJK_RANGES}])")
_SPACES = re.compile(" {2,}")


class _FoldTable(dict[int, str]):
    """``str.translate`` table: punctuation, symbols, controls, separators → a space;
    invisible format characters (zero-width space, soft hyphen, ...) → nothing.

    Filled lazily (a full table would hold a million entries); the answer for a code point
    depends only on the Unicode database, so caching it is safe.
    """

    def __missing__(self, cp: int) -> str:
        category = unicodedata.category(chr(cp))
        if category == "Cf":  # zero-width and other invisible format characters vanish
            value = ""
        elif category[0] in _FOLD_CATEGORIES:
            value = " "
        else:
            value = chr(cp)
        self[cp] = value
        return value


_FOLD = _FoldTable()


def normalise_text_v1(text: str) -> str:
    """The v1 normal form: NFKC, casefold, punctuation and spacing folded, CJK unspaced.

    NFKC also folds full-width Latin letters and digits to their ASCII forms. The result can
    be empty; callers that fingerprint refuse that with :class:`EmptyContent`.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    # casefold can produce characters NFKC would still change (e.g. "ﬃ" is handled, but
    # some Greek and Cherokee letters are not idempotent), so normalise once more.
    folded = unicodedata.normalize("NFKC", folded).translate(_FOLD)
    folded = _SPACES.sub(" ", folded).strip()
    return _SPACE_NEAR_CJK.sub("", folded)


def is_cjk_text(normalised: str) -> bool:
    """True when at least half of the non-space characters are Han, kana or Hangul."""
    letters = len(normalised) - normalised.count(" ")
    return letters > 0 and 2 * len(_CJK_CHAR.findall(normalised)) >= letters


# -- shingles and MinHash --------------------------------------------------------------------


def _cjk_mask(codes: U64) -> npt.NDArray[np.bool_]:
    mask = np.zeros(codes.shape, dtype=bool)
    for lo, hi in _CJK_SPANS:
        mask |= (codes >= lo) & (codes <= hi)
    return mask


def _kgrams(codes: U64, k: int) -> U64:
    """Hashes of the k-grams starting at each position (the last k-1 are partial)."""
    padded = np.concatenate((codes, np.zeros(k - 1, dtype=np.uint64)))
    acc = padded[: codes.size].copy()
    poly = np.uint64(_POLY)
    for offset in range(1, k):
        acc = acc * poly + padded[offset : offset + codes.size]
    # The shingle length is mixed in so a 2-gram never equals a 4-gram.
    return _splitmix64(acc ^ np.uint64(k << 56))


def shingle_sequence_v1(normalised: str) -> U64:
    """64-bit hashes of the character shingles of a normalised text, in text order.

    A shingle starts at every character: SHINGLE_CJK characters long when that character is
    Han, kana or Hangul, SHINGLE_LATIN otherwise, so mixed-script text (Japanese with Latin
    words, a Chinese poem quoted in an English post) is shingled the same way as its parts.
    A text shorter than one shingle yields the hash of the whole text; the minimum length
    is enforced by :func:`text_fingerprint_v1`, not here.
    """
    codes = np.frombuffer(normalised.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = codes.size
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if not _CJK_CHAR.search(normalised):  # the common case, twice as fast
        if n < SHINGLE_LATIN:
            return _kgrams(codes, n)[:1]
        return _kgrams(codes, SHINGLE_LATIN)[: n - SHINGLE_LATIN + 1]
    cjk = _cjk_mask(codes)
    width = np.where(cjk, SHINGLE_CJK, SHINGLE_LATIN)
    whole = np.arange(n) + width <= n
    if not whole.any():
        return _kgrams(codes, n)[:1]
    hashes = np.where(cjk, _kgrams(codes, SHINGLE_CJK), _kgrams(codes, SHINGLE_LATIN))
    return hashes[whole]


def shingle_hashes_v1(normalised: str) -> U64:
    """The shingle set of a normalised text: sorted distinct 64-bit shingle hashes."""
    return distinct(shingle_sequence_v1(normalised))


def _permuted(hashes: U64) -> U64:
    """(NUM_PERM, len(hashes)) matrix of 32-bit permuted values, as uint64."""
    return (_PERM_A[:, None] * hashes[None, :] + _PERM_B[:, None]) >> np.uint64(32)


def _permuted_full(hashes: U64) -> U64:
    """a·x + b (mod 2⁶⁴) for every permutation and hash; its high 32 bits are the permuted
    value, and since shifting is monotone, min-then-shift equals shift-then-min."""
    out = np.multiply(_PERM_A[:, None], hashes[None, :])
    out += _PERM_B[:, None]
    return out


def minhash_v1(hashes: U64) -> U32:
    """The NUM_PERM-value MinHash signature of one shingle-hash set (non-empty)."""
    signature: U32 = (_permuted_full(hashes).min(axis=1) >> np.uint64(32)).astype(np.uint32)
    return signature


def minhash_batch_v1(sets: Sequence[U64], *, chunk: int = 1 << 13) -> npt.NDArray[np.uint32]:
    """MinHash signatures of many shingle sets at once: shape (len(sets), NUM_PERM).

    The sets are concatenated and processed in chunks of about ``chunk`` shingles, so one
    numpy pass serves many short texts; the result equals :func:`minhash_v1` row by row.
    """
    out = np.empty((len(sets), NUM_PERM), dtype=np.uint32)
    start = 0
    while start < len(sets):
        stop, total = start, 0
        while stop < len(sets) and (stop == start or total + sets[stop].size <= chunk):
            total += sets[stop].size
            stop += 1
        flat = np.concatenate(sets[start:stop])
        sizes = np.fromiter((s.size for s in sets[start:stop]), dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        mins = np.minimum.reduceat(_permuted_full(flat), offsets, axis=1)
        out[start:stop] = (mins >> np.uint64(32)).T
        start = stop
    return out


# -- fingerprints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextSignature:
    """What a registration claim records about a text, and all matching needs of it."""

    sha256_norm: str
    minhash: U32
    shingles: int
    iscc: str | None = None

    def to_fields(self) -> dict[str, Any]:
        """The claim's ``fingerprints`` entries (JSON-ready)."""
        fields: dict[str, Any] = {
            "text_sha256_norm_v1": self.sha256_norm,
            "text_minhash_v1": encode_minhash(self.minhash),
            "text_shingles_v1": self.shingles,
        }
        if self.iscc is not None:
            fields["iscc_text_v1"] = self.iscc
        return fields

    @classmethod
    def from_fields(cls, fields: Any) -> TextSignature:
        """Decode the text entries of a claim's ``fingerprints`` (strictly)."""
        if not isinstance(fields, dict):
            raise MalformedDocument("fingerprints must be a JSON object")
        sha = fields.get("text_sha256_norm_v1")
        if not isinstance(sha, str) or not re.fullmatch("[0-9a-f]{64}", sha):
            raise MalformedDocument("text_sha256_norm_v1 must be 64 lowercase hex digits")
        shingles = fields.get("text_shingles_v1")
        if type(shingles) is not int or shingles < 1:
            raise MalformedDocument("text_shingles_v1 must be a positive integer")
        iscc = fields.get("iscc_text_v1")
        if iscc is not None and (not isinstance(iscc, str) or not iscc.startswith("ISCC:")):
            raise MalformedDocument("iscc_text_v1 must be an ISCC code")
        minhash = decode_minhash(fields.get("text_minhash_v1"))
        return cls(sha256_norm=sha, minhash=minhash, shingles=shingles, iscc=iscc)


@dataclass(frozen=True)
class TextFeatures:
    """A text's signature plus its shingles, for the query side of a check (never stored)."""

    signature: TextSignature
    shingle_hashes: U64
    """The shingle set: sorted distinct hashes."""
    sequence: U64
    """The shingle hashes in text order, for windows over long texts."""

    def _membership(self) -> U64:
        # Row i of the permuted matrix, tagged with i in the high bits, all sorted: one
        # searchsorted then tests every (permutation, value) pair of many candidates.
        # NUM_PERM times the size of the shingle set, so it is made when asked, not kept:
        # a registration batch holds the features of thousands of texts at once.
        # Rows sorted one by one (32-bit values), then tagged: sorted as a whole.
        rows = np.sort(_permuted(self.shingle_hashes).astype(np.uint32), axis=1)
        return (rows.astype(np.uint64) | (_ROW_TAGS[:, None] << np.uint64(32))).ravel()

    def contained_fraction(self, minhashes: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
        """For each signature row, the fraction of its MinHash values that this text's
        shingles produce under the same permutation.

        A MinHash value is the hash of one shingle of the work drawn uniformly at random,
        so this fraction estimates |work ∩ query| / |work| (the containment of the work in
        this text) without the work's shingles: the claim's signature is enough.
        """
        sigs = np.atleast_2d(np.asarray(minhashes, dtype=np.uint64))
        keys = sigs | (_ROW_TAGS[None, :] << np.uint64(32))
        table = self._membership()
        pos = np.searchsorted(table, keys).clip(max=table.size - 1)
        return np.asarray((table[pos] == keys).mean(axis=1), dtype=np.float64)


_ROW_TAGS = np.arange(NUM_PERM, dtype=np.uint64)


@dataclass(frozen=True)
class TextOverlap:
    """Estimated overlaps between one query text and candidate works (arrays, one per work)."""

    shared: npt.NDArray[np.float64]
    """Estimated number of shared shingles."""
    jaccard: npt.NDArray[np.float64]
    work_in_query: npt.NDArray[np.float64]
    """Containment of the work in the query: the query quotes the work."""
    query_in_work: npt.NDArray[np.float64]
    """Containment of the query in the work: the query is an excerpt of the work."""


def estimate_overlap(
    query: TextFeatures,
    minhashes: npt.NDArray[np.uint32],
    shingles: npt.NDArray[np.int64],
) -> TextOverlap:
    """Jaccard and both containments of ``query`` with works given by their signatures.

    ``minhashes`` is (works, NUM_PERM) and ``shingles`` the works' shingle counts, as
    recorded in their claims. Estimates have a standard error of about
    sqrt(c (1 - c) / NUM_PERM) in the containment c of the work (0.036 at c = 0.5).
    """
    n_work = np.asarray(shingles, dtype=np.float64)
    n_query = float(query.shingle_hashes.size)
    work_in_query = query.contained_fraction(minhashes)
    shared = np.minimum(work_in_query * n_work, n_query)
    union = n_work + n_query - shared
    return TextOverlap(
        shared=shared,
        jaccard=shared / union,
        work_in_query=work_in_query,
        query_in_work=shared / n_query,
    )


def encode_minhash(signature: U32) -> str:
    """Unpadded base64url of the signature as big-endian uint32 values (768 bytes in v1)."""
    return b64url_encode(np.asarray(signature, dtype=">u4").tobytes())


def decode_minhash(text: Any) -> U32:
    if not isinstance(text, str):
        raise MalformedDocument("text_minhash_v1 must be a base64url string")
    raw = b64url_decode(text, "text_minhash_v1")
    if len(raw) != 4 * NUM_PERM:
        raise MalformedDocument(f"text_minhash_v1 must hold {NUM_PERM} 32-bit values")
    return np.frombuffer(raw, dtype=">u4").astype(np.uint32)


def _prepare(text: str) -> tuple[str, U64, U64]:
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise ContentTooLarge(
            f"text has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}",
            hint="Register long documents as files; text fingerprints serve micro-content.",
        )
    normalised = normalise_text_v1(text)
    if not normalised:
        raise EmptyContent("the text is empty once punctuation and spacing are folded")
    sequence = shingle_sequence_v1(normalised)
    hashes = distinct(sequence)
    if hashes.size < MIN_SHINGLES:
        raise InvalidInput(
            f"the text is too short to fingerprint: {hashes.size} distinct shingles, "
            f"at least {MIN_SHINGLES} needed (about 11 letters, or 9 CJK characters)",
            hint="Register longer text, or register it by exact hash only.",
        )
    return normalised, hashes, sequence


def text_features_v1(text: str, *, iscc: bool = False) -> TextFeatures:
    """Fingerprint one text (v1). Raises an :class:`InvalidInput` subclass for bad input."""
    normalised, hashes, sequence = _prepare(text)
    signature = TextSignature(
        sha256_norm=hashlib.sha256(normalised.encode()).hexdigest(),
        minhash=minhash_v1(hashes),
        shingles=int(hashes.size),
        iscc=iscc_text_codes([text])[0] if iscc else None,
    )
    return TextFeatures(signature=signature, shingle_hashes=hashes, sequence=sequence)


def text_fingerprint_v1(text: str, *, iscc: bool = True) -> TextSignature:
    """The v1 text signature recorded in a registration claim."""
    return text_features_v1(text, iscc=iscc).signature


def text_features_many_v1(
    texts: Sequence[str], *, iscc: bool = False
) -> list[TextFeatures | InvalidInput]:
    """:func:`text_features_v1` of many texts at once (vectorised MinHash and ISCC codes);
    a bad text's slot holds its error (an :class:`InvalidInput` subclass) instead."""
    prepared: list[tuple[str, U64, U64] | InvalidInput] = []
    for text in texts:
        try:
            prepared.append(_prepare(text))
        except InvalidInput as exc:
            prepared.append(exc)
    good = [(i, p) for i, p in enumerate(prepared) if not isinstance(p, InvalidInput)]
    signatures = minhash_batch_v1([hashes for _, (_, hashes, _) in good])
    codes = iscc_text_codes([texts[i] for i, _ in good]) if iscc else [None] * len(good)
    made = {}
    for j, (i, (normalised, hashes, sequence)) in enumerate(good):
        signature = TextSignature(
            sha256_norm=hashlib.sha256(normalised.encode()).hexdigest(),
            minhash=signatures[j],
            shingles=int(hashes.size),
            iscc=codes[j],
        )
        made[i] = TextFeatures(signature=signature, shingle_hashes=hashes, sequence=sequence)
    return [p if isinstance(p, InvalidInput) else made[i] for i, p in enumerate(prepared)]


def text_fingerprints_v1(texts: Sequence[str], *, iscc: bool = True) -> list[TextSignature]:
    """Fingerprint many texts at once (vectorised MinHash); same results as one by one.

    Raises for the first bad text; :func:`text_features_many_v1` tells each text's error.
    """
    out = []
    for found in text_features_many_v1(texts, iscc=iscc):
        if isinstance(found, InvalidInput):
            raise found
        out.append(found.signature)
    return out


def text_fingerprint(text: str, *, iscc: bool = True) -> TextSignature:
    """The current text fingerprint (v1)."""
    return text_fingerprint_v1(text, iscc=iscc)


def text_features(text: str) -> TextFeatures:
    """The current query-side text features (v1)."""
    return text_features_v1(text)
