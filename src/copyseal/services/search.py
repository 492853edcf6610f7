""" "Who owns this?": similarity search over the log.

:class:`SimilaritySearch` answers a check: exact copies by content hash, edited copies by
candidates from the similarity index (a fold of the log, caught up before each look-up)
verified against the candidates' claimed fingerprints, ranked; a match that copies no
earlier-registered match is marked as an original (priority is log order, whatever a claim's
fingerprints declare). The fingerprints come from ``services/fingerprints.py``; the
registration rule built on the check is ``services/antisquatting.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from copyseal.adapters.image_budget import with_decoded_image
from copyseal.core.claims import parse_leaf
from copyseal.core.encoding import parse_canonical_json, parse_json
from copyseal.core.kinds import KINDS, known, read
from copyseal.domain.folds import SimilarityIndex
from copyseal.domain.log import Entry, LogStore
from copyseal.errors import EmptyContent, InvalidInput
from copyseal.fingerprint import index as fx
from copyseal.fingerprint.audio import (
    AudioSignature,
    audio_index_keys,
    compare_chromaprint,
    is_audio_match,
)
from copyseal.fingerprint.image import ImageSignature, image_query
from copyseal.fingerprint.text import (
    TextFeatures,
    TextSignature,
    text_features,
    text_features_many_v1,
)
from copyseal.services.fingerprints import (
    audio_signature,
    decode_text,
    fingerprint_fields,
    media_kind,
)
from copyseal.services.folds import Follower

MAX_CANDIDATES = 200
TEXT_GROUP = 256
POLICY_TOP = 20
"""Matches the registration rule looks at (``services/antisquatting.py``)."""


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
    def __init__(
        self, *, store: LogStore, index: SimilarityIndex, follower: Follower | None = None
    ) -> None:
        self.store = store
        self.index = index
        self.follower = follower

    def _fresh(self) -> None:
        """Catch the index up with the log, so a look-up sees every entry logged so far."""
        if self.follower is not None:
            self.follower.catch_up(["similarity"])

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
            described = self.check_texts([text_query(content)], top_k)[0]
            if passages:
                text = content.decode("utf-8")
                described = [replace(m, shared_passages=self._passages(text, m)) for m in described]
            return described
        sha256 = hashlib.sha256(content).hexdigest()
        exact = {e.index: e for e in self.registered_by_hash([sha256]).get(sha256, [])}
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
        return [self.describe(m) for m in fx.rank_matches(matches, top=top_k, related=related)]

    def _passages(self, text: str, match: WorkMatch) -> tuple[tuple[int, int], ...]:
        fields = self._fingerprints([match.index], "text_minhash_v1").get(match.index)
        if fields is None:
            return ((0, len(text)),) if match.kind == fx.EXACT else ()
        return shared_passages(text, TextSignature.from_fields(fields))

    def _candidates(self, keys: Sequence[int], field: str) -> list[tuple[int, dict[str, Any]]]:
        """Index candidates with a ``field`` fingerprint: (entry index, fingerprints)."""
        self._fresh()
        found = self._fingerprints(self.index.similar(keys, limit=MAX_CANDIDATES), field)
        return list(found.items())

    def _fingerprints(self, indices: Iterable[int], field: str) -> dict[int, dict[str, Any]]:
        """The fingerprints of the works among ``indices`` that have ``field``.

        The leaves were validated when they were logged, so only the fingerprints are read;
        they are decoded strictly by the signature classes."""
        found = {}
        for index, entry in sorted(self.store.entries_at(indices).items()):
            claim = parse_json(entry.leaf)["claim"]
            kind = known(claim["type"], claim["v"])
            if kind is None or not kind.work:
                continue
            fields = kind.fingerprints(claim["body"])
            if field in fields:
                found[index] = dict(fields)
        return found

    def registered_by_hash(self, hashes: Iterable[str]) -> dict[str, list[Entry]]:
        """The works registered with each of these content hashes, oldest first."""
        found = self.store.find_contents(hashes)
        return {h: works for h, entries in found.items() if (works := list(registered(entries)))}

    def check_texts(self, queries: Sequence[TextQuery], top_k: int) -> list[list[WorkMatch]]:
        """Checks of many texts together, :data:`TEXT_GROUP` at a time: one index pass and
        one read of every candidate for each group. (The windows of a group's texts are
        MinHashed together; groups bound the memory that takes.)"""
        results = []
        for start in range(0, len(queries), TEXT_GROUP):
            results += self._check_text_group(queries[start : start + TEXT_GROUP], top_k)
        return results

    def _check_text_group(self, queries: Sequence[TextQuery], top_k: int) -> list[list[WorkMatch]]:
        exact = self.registered_by_hash(q.sha256 for q in queries)
        keyed = [q.features for q in queries if q.features is not None]
        self._fresh()
        found = self.index.similar_many(fx.text_query_keys_many(keyed), limit=MAX_CANDIDATES)
        fields = self._fingerprints({i for c in found for i in c}, "text_minhash_v1")
        signatures = {i: TextSignature.from_fields(f) for i, f in fields.items()}
        candidates = iter(found)
        results = []
        for query in queries:
            registered = {e.index: e for e in exact.get(query.sha256, [])}
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
        query = with_decoded_image(content, image_query)
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
        query = audio_signature(content, iscc=False)
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

    def describe(self, match: fx.Match) -> WorkMatch:
        entry = self.store.entry(int(match.work))
        assert entry is not None
        claim, logged_at = parse_leaf(parse_canonical_json(entry.leaf))
        kind = read(claim).kind
        return WorkMatch(
            work_id=entry.work_id,
            index=entry.index,
            owner=claim.signer,
            logged_at=logged_at,
            title=None if kind is None else kind.describe(claim.body).get("title"),
            kind=match.kind,
            score=match.score,
            original=match.original,
            details=dict(match.details),
            copies=tuple(int(c) for c in match.copies),
        )

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
            queries.append(TextQuery(hashlib.sha256(content).hexdigest(), usable))
        checked = self.check_texts(queries, top_k=POLICY_TOP)
        for (i, _, _), query, matches in zip(texts, queries, checked, strict=True):
            fields = query.features.signature.to_fields() if query.features else {}
            out[i] = (fields, matches)
        return out


@dataclass(frozen=True)
class TextQuery:
    sha256: str
    features: TextFeatures | None
    """None for a text too short to fingerprint: only exact copies are looked for."""


def text_query(content: bytes) -> TextQuery:
    text = decode_text(content)
    try:
        features: TextFeatures | None = text_features(text)
    except EmptyContent:
        raise
    except InvalidInput:
        features = None
    return TextQuery(hashlib.sha256(content).hexdigest(), features)


def registered(entries: Iterable[Entry]) -> Iterator[Entry]:
    """The works among ``entries`` (entries with a content hash were read when logged)."""
    for entry in entries:
        kind = KINDS.get(entry.type)
        if kind is not None and kind.work:
            yield entry


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
