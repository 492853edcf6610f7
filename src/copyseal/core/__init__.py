"""The bytes copyseal must get exactly right: canonical JSON, keys, claims, Merkle trees,
signed notes, checkpoints and certificates.

Pure: stdlib, ``cryptography`` and ``rfc8785`` only. Nothing here reads files, clocks,
randomness or the network; time and randomness are arguments. A change here can change the
bytes of certificates already issued, so every module is pinned by vectors in
``tests/vectors``.
"""
