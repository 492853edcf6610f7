""" "Who owns this?": similarity search over the log, and the registration policy it enables.

- :func:`fingerprint_fields` computes the versioned fingerprints a register claim records
  (text: normalised hash, MinHash, ISCC Text-Code; image: perceptual hashes, ISCC Image-Code;
  other media: none, the exact hash only).
- :func:`index_keys` derives a work's index keys from its claim alone, so the index is a pure
  function of the log (``copyseal index rebuild``) and is written in the same transaction as
  the registration.
- :class:`SimilaritySearch` answers a check: exact copies by content hash, edited copies by
  index candidates verified against the candidates' claimed fingerprints, ranked; a match
  that copies no earlier-registered match is marked as an original (priority is log order,
  whatever a claim's fingerprints declare).
- :meth:`SimilaritySearch.assess_many` is the registry's anti-squatting policy: it finds what
  each claim's content matches and hands the matches to the rules of
  :mod:`copyseal.services.policy` (content that matches another creator's earlier work is
  refused unless declared; a creator's own edited version is linked to the earlier one).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from copyseal.adapters.media import compute_chromaprint, decode_image
from copyseal.core.claims import Claim, parse_leaf
from copyseal.core.encoding import parse_canonical_json, parse_json
from copyseal.core.workid import parse_work_id
from copyseal.domain.log import Entry, LogStore
from copyseal.errors import CopysealError, EmptyContent, InvalidInput, NotFound
from copyseal.fingerprint import index as fx
from copyseal.fingerprint.audio import (
    AudioSignature,
    audio_fingerprint,
    audio_index_keys,
    compare_chromaprint,
    is_audio_match,
)
from copyseal.fingerprint.image import ImageSignature, image_fingerprint, image_query
from copyseal.fingerprint.text import (
    TextFeatures,
    TextSignature,
    text_features,
    text_features_many_v1,
    text_fingerprint,
)
from copyseal.services.policy import Assessment, exact_copy_refusal, verdict

__all__ = ["Assessment", "SimilaritySearch", "WorkMatch", "verdict"]

MAX_CANDIDATES = 200
TEXT_GROUP = 256
POLICY_TOP = 20
"""Matches the registration policy looks at: any from another creator refuses."""


def media_kind(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    if base.startswith("text/"):
        return "text"
    if base.startswith("image/"):
        return "image"
    if base.startswith("audio/"):
        return "audio"
    return "other"  # video and everything else: the exact hash only


def decode_text(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the text is not UTF-8", hint="Save it as UTF-8 and try again.") from exc
    if not text.strip():
        raise EmptyContent("the text is empty once whitespace is removed")
    return text


def fingerprint_fields(content: bytes, media_type: str) -> dict[str, Any]:
    """The ``fingerprints`` of a register claim for this content (empty: exact hash only).

    A text too short to fingerprint (under about eleven letters) is registered by its exact
    hash alone; a text that is empty once normalised, or an undecodable image, is refused.
    """
    kind = media_kind(media_type)
    if kind == "text":
        text = decode_text(content)
        try:
            return text_fingerprint(text).to_fields()
        except EmptyContent:
            raise
        except InvalidInput:
            return {}
    if kind == "image":
        return image_fingerprint(decode_image(content)).to_fields()
    if kind == "audio":
        signature = _audio_signature(content, iscc=True)
        return {} if signature is None else signature.to_fields()
    return {}


def _audio_signature(content: bytes, *, iscc: bool) -> AudioSignature | None:
    """Chromaprint via fpcalc; None when fpcalc is not installed or the clip is too short
    (the exact hash still protects it). Audio fpcalc cannot decode is refused."""
    try:
        raw = compute_chromaprint(content).fingerprint
    except FileNotFoundError:
        return None
    try:
        return audio_fingerprint(raw, iscc=iscc)
    except EmptyContent:
        raise
    except InvalidInput:
        return None


def index_keys(claim: Claim) -> list[int]:
    """The similarity index keys of a claim, from its fingerprints alone.

    Every logged claim is indexed under them, whichever way it came in, so the index is the
    same as a rebuild from the log would make."""
    return _keys_from_fields(claim.body.get("fingerprints") or {})


def _keys_from_fields(fields: dict[str, Any]) -> list[int]:
    keys: list[int] = []
    if "text_minhash_v1" in fields:
        keys = fx.text_band_keys(TextSignature.from_fields(fields).minhash).tolist()
    elif "image_phash_v1" in fields:
        keys = fx.image_work_keys(ImageSignature.from_fields(fields))
    elif "audio_chromaprint_v1" in fields:
        keys = audio_index_keys(AudioSignature.from_fields(fields).chromaprint)
    return [int(k) for k in keys]


def lineage_links(index: int, claim: Claim) -> list[tuple[int, int, str]]:
    """The links a claim declares: to each parent it is ``derivative_of``, or to the work a
    ``dispute`` contests. The earlier work's record shows them; the work itself is untouched."""
    return _declared_links(index, claim.type, claim.body)


def _declared_links(index: int, claim_type: str, body: Any) -> list[tuple[int, int, str]]:
    if claim_type == "dispute":
        return [(index, parse_work_id(body["work_id"]), "dispute")]
    return [(index, parse_work_id(p), "derivative") for p in body.get("derivative_of", [])]


def rebuild_index(store: LogStore, *, batch: int = 10_000) -> int:
    """Recompute the similarity index and declared links from the log, in one transaction.
    Links found by similarity at registration (a creator's versions) are kept."""
    with store.sequencer() as writer:
        writer.clear_index()
        size = writer.tree_size()
        for start in range(0, size, batch):
            keys: list[tuple[int, int]] = []
            links: list[tuple[int, int, str]] = []
            for entry in store.entries(start, min(size, start + batch)):
                # Leaves were validated when logged (the audit re-checks them): read only
                # the fields the index and the declared links come from.
                claim = parse_json(entry.leaf)["claim"]
                body = claim["body"]
                fields = body.get("fingerprints") or {}
                keys += [(k, entry.index) for k in _keys_from_fields(fields)]
                links += _declared_links(entry.index, claim["type"], body)
            writer.add_index(keys, links)
    return size


_SENTENCE = re.compile(r"[^.!?;。！？；\n]+[.!?;。！？；\n]*")
PASSAGE_CONTAINMENT = 0.5


def shared_passages(text: str, work: TextSignature) -> tuple[tuple[int, int], ...]:
    """Character spans of ``text`` (sentences) that the work most likely contains.

    The log keeps a work's MinHash, not its text. A MinHash value is the hash of one of the
    work's shingles drawn at random, so the fraction of them that a sentence's shingles
    produce, times the work's shingle count, estimates how many shingles the two share.
    """
    spans = []
    for found in _SENTENCE.finditer(text):
        try:
            features = text_features(found.group())
        except InvalidInput:  # too short (or empty) to say
            continue
        produced = float(features.contained_fraction(work.minhash)[0])
        shared = produced * work.shingles
        if shared >= PASSAGE_CONTAINMENT * features.signature.shingles:
            spans.append((found.start(), found.end()))
    return tuple(spans)


@dataclass(frozen=True)
class WorkMatch:
    """A registered work that the checked content copies or nearly copies."""

    work_id: str
    index: int
    owner: str
    logged_at: str
    title: str | None
    kind: str
    score: float
    original: bool
    details: dict[str, float] = field(default_factory=dict)
    shared_passages: tuple[tuple[int, int], ...] = ()
    copies: tuple[int, ...] = ()
    """Entry indices of the earlier-registered matches this work copies (none: original)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "work_id": self.work_id,
            "owner": self.owner,
            "logged_at": self.logged_at,
            "title": self.title,
            "kind": self.kind,
            "score": round(self.score, 4),
            "original": self.original,
            "details": {k: round(v, 4) for k, v in self.details.items()},
            "certificate": f"/api/v1/works/{self.work_id}/certificate",
        }


class SimilaritySearch:
    def __init__(self, *, store: LogStore) -> None:
        self.store = store

    # -- check --------------------------------------------------------------------------------

    def check(
        self, content: bytes, media_type: str, *, top_k: int = 10, passages: bool = True
    ) -> list[WorkMatch]:
        """The registered works this content copies or nearly copies, best first; for text,
        with the passages each work shares with it (``passages``)."""
        if not content:
            raise EmptyContent("nothing to check")
        if not 1 <= top_k <= 100:
            raise InvalidInput("top must be between 1 and 100")
        kind = media_kind(media_type)
        if kind == "text":
            described = self._check_texts([_text_query(content)], top_k)[0]
            if passages:
                text = content.decode("utf-8")
                described = [replace(m, shared_passages=self._passages(text, m)) for m in described]
            return described
        sha256 = hashlib.sha256(content).hexdigest()
        exact = _registered(self.store.find_contents([sha256]).get(sha256, []))
        if kind == "image":
            matches = self._image_matches(content, exact)
        elif kind == "audio":
            matches = self._audio_matches(content, exact)
        else:
            matches = []
        return self._ranked(matches, exact, top_k)

    def _ranked(
        self,
        matches: list[fx.Match],
        exact: dict[int, Entry],
        top_k: int,
        related: fx.Related | None = None,
    ) -> list[WorkMatch]:
        """Ranked and described; ``exact`` are the works whose content hash is the query's.
        Without ``related``, every match of the query copies every earlier one (an image or
        audio match is a copy of the whole, never a part)."""
        matches = matches + [
            fx.Match(i, i, fx.EXACT, 1.0, {}) for i in exact if i not in {m.work for m in matches}
        ]
        return [self._describe(m) for m in fx.rank_matches(matches, top=top_k, related=related)]

    def _passages(self, text: str, match: WorkMatch) -> tuple[tuple[int, int], ...]:
        entry = self.store.entry(match.index)
        assert entry is not None
        claim, _ = parse_leaf(parse_canonical_json(entry.leaf))
        fields = claim.body.get("fingerprints", {})
        if "text_minhash_v1" not in fields:
            return ((0, len(text)),) if match.kind == fx.EXACT else ()
        return shared_passages(text, TextSignature.from_fields(fields))

    def _candidates(self, keys: Sequence[int], field: str) -> list[tuple[int, dict[str, Any]]]:
        """Index candidates with a ``field`` fingerprint: (entry index, fingerprints)."""
        found = self._fingerprints(self.store.similar(keys, limit=MAX_CANDIDATES), field)
        return list(found.items())

    def _fingerprints(self, indices: Iterable[int], field: str) -> dict[int, dict[str, Any]]:
        """The fingerprints of the register entries among ``indices`` that have ``field``.

        The leaves were validated when they were logged, so only the fingerprints are read;
        they are decoded strictly by the signature classes."""
        found = {}
        for index, entry in sorted(self.store.entries_at(indices).items()):
            if entry.type != "register":
                continue
            fields = parse_json(entry.leaf)["claim"]["body"].get("fingerprints", {})
            if field in fields:
                found[index] = fields
        return found

    def _check_texts(self, queries: Sequence[_TextQuery], top_k: int) -> list[list[WorkMatch]]:
        """Checks of many texts together, :data:`TEXT_GROUP` at a time: one index pass and
        one read of every candidate for each group. (The windows of a group's texts are
        MinHashed together; groups bound the memory that takes.)"""
        results = []
        for start in range(0, len(queries), TEXT_GROUP):
            results += self._check_text_group(queries[start : start + TEXT_GROUP], top_k)
        return results

    def _check_text_group(self, queries: Sequence[_TextQuery], top_k: int) -> list[list[WorkMatch]]:
        exact = self.store.find_contents(q.sha256 for q in queries)
        keyed = [q.features for q in queries if q.features is not None]
        found = self.store.similar_many(fx.text_query_keys_many(keyed), limit=MAX_CANDIDATES)
        fields = self._fingerprints({i for c in found for i in c}, "text_minhash_v1")
        signatures = {i: TextSignature.from_fields(f) for i, f in fields.items()}
        candidates = iter(found)
        results = []
        for query in queries:
            registered = _registered(exact.get(query.sha256, []))
            matches: list[fx.Match] = []
            if query.features is not None:
                indices = [i for i in next(candidates) if i in signatures]
                if indices:
                    matches = fx.score_text(
                        query.features,
                        indices,
                        indices,
                        np.stack([signatures[i].minhash for i in indices]),
                        [signatures[i].shingles for i in indices],
                        [signatures[i].sha256_norm for i in indices],
                    )
                matches = [_by_content_hash(m, registered) for m in matches]
            results.append(self._ranked(matches, registered, top_k, _text_related(signatures)))
        return results

    def _image_matches(self, content: bytes, exact: dict[int, Entry]) -> list[fx.Match]:
        query = image_query(decode_image(content))
        candidates = self._candidates(fx.image_query_keys(query), "image_phash_v1")
        indices = [index for index, _ in candidates]
        matches = fx.score_image(
            query,
            indices,
            indices,
            [ImageSignature.from_fields(fields) for _, fields in candidates],
        )
        return [replace(m, kind=fx.EXACT, score=1.0) if m.work in exact else m for m in matches]

    def _audio_matches(self, content: bytes, exact: dict[int, Entry]) -> list[fx.Match]:
        query = _audio_signature(content, iscc=False)
        if query is None:
            return []
        matches = []
        for index, fields in self._candidates(
            audio_index_keys(query.chromaprint), "audio_chromaprint_v1"
        ):
            work = AudioSignature.from_fields(fields)
            similarity, offset = compare_chromaprint(work.chromaprint, query.chromaprint)
            if is_audio_match(similarity):
                kind = fx.EXACT if index in exact else fx.NEAR_DUPLICATE
                details = {"similarity": similarity, "offset_frames": float(offset)}
                matches.append(fx.Match(index, index, kind, similarity, details))
        return matches

    def _describe(self, match: fx.Match) -> WorkMatch:
        entry = self.store.entry(int(match.work))
        assert entry is not None
        claim, logged_at = parse_leaf(parse_canonical_json(entry.leaf))
        return WorkMatch(
            work_id=entry.work_id,
            index=entry.index,
            owner=claim.signer,
            logged_at=logged_at,
            title=claim.body.get("title"),
            kind=match.kind,
            score=match.score,
            original=match.original,
            details=dict(match.details),
            copies=tuple(int(c) for c in match.copies),
        )

    # -- registration policy -------------------------------------------------------------------

    def fingerprint_and_check(
        self, works: Sequence[tuple[bytes, str]]
    ) -> list[tuple[dict[str, Any], list[WorkMatch] | None]]:
        """Each work's claim fingerprints (:func:`fingerprint_fields`) and, for a text, its
        matches as the registration policy sees them now (:func:`verdict` turns them into
        the verdict), from one normalisation and MinHash of the text. Raises the first
        error :func:`fingerprint_fields` would raise."""
        out: list[tuple[dict[str, Any], list[WorkMatch] | None]] = [({}, None)] * len(works)
        texts: list[tuple[int, bytes, str]] = []
        for i, (content, media_type) in enumerate(works):
            if media_kind(media_type) == "text":
                texts.append((i, content, decode_text(content)))
            else:
                out[i] = (fingerprint_fields(content, media_type), None)
        queries = []
        features = text_features_many_v1([text for _, _, text in texts], iscc=True)
        for (_, content, _), found in zip(texts, features, strict=True):
            if isinstance(found, EmptyContent):
                raise found
            usable = None if isinstance(found, InvalidInput) else found  # too short: exact only
            queries.append(_TextQuery(hashlib.sha256(content).hexdigest(), usable))
        checked = self._check_texts(queries, top_k=POLICY_TOP)
        for (i, _, _), query, matches in zip(texts, queries, checked, strict=True):
            fields = query.features.signature.to_fields() if query.features else {}
            out[i] = (fields, matches)
        return out

    def assess_many(
        self, claims: Sequence[Claim], contents: Sequence[bytes | None]
    ) -> list[Assessment]:
        """Refuse a near-copy of another creator's earlier work unless declared; link a
        creator's own earlier version, and declared parents. One verdict per claim; the
        texts of a batch are checked together."""
        verdicts: list[Assessment | None] = [None] * len(claims)
        texts: list[tuple[int, set[str], _TextQuery]] = []
        by_hash: list[int] = []
        for i, (claim, content) in enumerate(zip(claims, contents, strict=True)):
            try:
                if claim.type != "register" or "commitment" in claim.body["content"]:
                    verdicts[i] = Assessment()
                elif content is None:
                    # A claim submitted without its content can be held only to its exact hash.
                    by_hash.append(i)
                else:
                    parents = self._parents(claim)
                    media_type = claim.body["content"]["media_type"]
                    if media_kind(media_type) == "text":
                        texts.append((i, parents, _text_query(content)))
                    else:
                        found = self.check(content, media_type, top_k=POLICY_TOP, passages=False)
                        verdicts[i] = verdict(claim, parents, found)
            except CopysealError as exc:
                verdicts[i] = Assessment(refusal=exc)
        if texts:
            checked = self._check_texts([query for _, _, query in texts], top_k=POLICY_TOP)
            for (i, parents, _), found in zip(texts, checked, strict=True):
                verdicts[i] = verdict(claims[i], parents, found)
        if by_hash:
            exact = self._assess_exact([claims[i] for i in by_hash])
            for i, assessment in zip(by_hash, exact, strict=True):
                verdicts[i] = assessment
        return [v if v is not None else Assessment() for v in verdicts]

    def _parents(self, claim: Claim) -> set[str]:
        parents = set(claim.body.get("derivative_of", []))
        for parent in parents:
            entry = self.store.entry(parse_work_id(parent))
            if entry is None or entry.type != "register" or entry.work_id != parent:
                raise NotFound(f"derivative_of names {parent}, not a work here")
        return parents

    def _assess_exact(self, claims: Sequence[Claim]) -> list[Assessment]:
        """Claims without their content: held to their exact hash, by the same rule as the
        sequencer's (:func:`exact_copy_refusal`); the signer's own bytes are a repeat."""
        earlier = self.store.find_contents(c.body["content"]["sha256"] for c in claims)
        verdicts = []
        for claim in claims:
            entries = earlier.get(claim.body["content"]["sha256"], [])
            if any(e.type == "register" and e.signer == claim.signer for e in entries):
                verdicts.append(Assessment())
            else:
                verdicts.append(Assessment(refusal=exact_copy_refusal(claim, entries, ())))
        return verdicts


@dataclass(frozen=True)
class _TextQuery:
    sha256: str
    features: TextFeatures | None
    """None for a text too short to fingerprint: only exact copies are looked for."""


def _text_query(content: bytes) -> _TextQuery:
    text = decode_text(content)
    try:
        features: TextFeatures | None = text_features(text)
    except EmptyContent:
        raise
    except InvalidInput:
        features = None
    return _TextQuery(hashlib.sha256(content).hexdigest(), features)


def _registered(entries: Iterable[Entry]) -> dict[int, Entry]:
    return {e.index: e for e in entries if e.type == "register"}


def _by_content_hash(match: fx.Match, registered: dict[int, Entry]) -> fx.Match:
    """Exact means the query's bytes are the work's: its content hash, which the claim signs.
    The same normal form is a near-duplicate of score 1: the normalised hash is a fingerprint
    the claim declares, and a claim submitted without its content was never held to it."""
    if match.work in registered:
        return replace(match, kind=fx.EXACT, score=1.0)
    return replace(match, kind=fx.NEAR_DUPLICATE) if match.kind == fx.EXACT else match


def _text_related(signatures: dict[int, TextSignature]) -> fx.Related:
    """Which earlier matches of one text a match copies. A work with the query's bytes is the
    query: it copies every earlier match, and every match copies it. Two other texts, when
    their claims' fingerprints match each other (:func:`fx.text_related`)."""
    texts = fx.text_related(signatures)

    def related(match: fx.Match, earlier: Sequence[fx.Match]) -> npt.NDArray[np.bool_]:
        out = np.ones(len(earlier), dtype=np.bool_)
        if match.kind != fx.EXACT:
            others = [i for i, e in enumerate(earlier) if e.kind != fx.EXACT]
            if others:
                out[others] = texts(match, [earlier[i] for i in others])
        return out

    return related
