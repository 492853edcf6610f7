"""Rebuild the committed fingerprint vectors.

Run ``.venv/bin/python -m tests.unit.fingerprint.build_vectors`` from the project root.

Run only when adding a vector. A ``_v1`` output never changes: if a rebuild changes an
existing entry, the algorithm changed, and that is a bug (or a new ``_v2``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from copyseal.adapters.media import decode_image
from copyseal.fingerprint.image import image_fingerprint_v1
from copyseal.fingerprint.text import text_fingerprint_v1
from tests.unit.fingerprint.samples import TEXTS, LargeVector, encoded, large_image, sample_image

HERE = Path(__file__).parent / "vectors"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    text = [{"text": t, "fields": text_fingerprint_v1(t).to_fields()} for t in TEXTS]
    (HERE / "text_v1.json").write_text(json.dumps(text, ensure_ascii=False, indent=1) + "\n")
    image = [
        {
            "seed": seed,
            "size": list(size),
            "fields": image_fingerprint_v1(sample_image(seed, size)).to_fields(),
        }
        for seed, size in ((1, (320, 240)), (2, (200, 300)), (3, (64, 64)))
    ]
    (HERE / "image_v1.json").write_text(json.dumps(image, indent=1) + "\n")
    large = []
    for vector in (
        LargeVector(5, (470, 430), 11),  # 24 MP: hashed from its halving
        LargeVector(7, (300, 200), 18, "bilinear"),  # 19 MP, smooth: likewise
        LargeVector(6, (512, 512), 8),  # 4,096 × 4,096, the budget: hashed whole, as always
    ):
        img = large_image(vector)
        jpeg = encoded(img, "JPEG", quality=vector.jpeg_quality)
        large.append(
            {
                **vector.to_dict(),
                "fields": image_fingerprint_v1(img).to_fields(),
                "jpeg_sha256": hashlib.sha256(jpeg).hexdigest(),
                "jpeg_fields": image_fingerprint_v1(decode_image(jpeg)).to_fields(),
            }
        )
    (HERE / "image_large_v1.json").write_text(json.dumps(large, indent=1) + "\n")


if __name__ == "__main__":
    main()
