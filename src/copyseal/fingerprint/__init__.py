"""Similarity fingerprints of texts, images and audio: pure, versioned algorithms.

Decoded content in, fingerprints out. Nothing here reads files, clocks, randomness or the
network, and nothing imports adapters or services. **Every ``*_v1`` function and every key
derivation is frozen once issued**: claims carry their output, and the similarity index is
rebuilt from the claims, so a change here would silently break matching against every work
already registered. Vectors in ``tests/unit/fingerprint`` pin them; an improvement is a new
``_v2`` with new field names, read beside ``_v1``.

Modules: ``text`` (normalisation, shingles, MinHash, ISCC Text-Code), ``image`` (pHash,
dHash, crop and rotation hashes, ISCC Image-Code), ``audio`` (Chromaprint comparison, ISCC
Audio-Code), ``index`` (index keys, verification thresholds, scoring and ranking).
"""
