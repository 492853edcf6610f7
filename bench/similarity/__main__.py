"""Run the similarity quality benchmark: ``.venv/bin/python -m bench.similarity``.

Installs its data from Debian packages into ``bench/.cache`` on first use (``data.py``),
prints the tables, and writes the full results (with the threshold sweeps and examples of
wrong answers) to ``bench/.cache/similarity-results*.json``.
Options: ``--sources N`` (texts edited into queries, default 2000), ``--distractors N``
(default 100000, for texts and per image fold), ``--only text|image``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.similarity import imagebench, textbench
from bench.similarity.data import CACHE, ensure_data


def _table(title: str, rows: dict[str, dict[str, Any]], columns: list[str]) -> str:
    lines = [f"\n{title}\n", "| case | " + " | ".join(columns) + " |"]
    lines.append("|---|" + "---|" * len(columns))
    for name, row in rows.items():
        cells = []
        for c in columns:
            v = row.get(c, 0)
            cells.append(
                f"{v:.2e}"
                if c == "false_positive_rate"
                else f"{v:.3f}"
                if isinstance(v, float)
                else str(v)
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similarity")
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--distractors", type=int, default=100_000)
    parser.add_argument("--only", choices=("text", "image"))
    args = parser.parse_args()
    root = ensure_data()
    results: dict[str, Any] = {}
    if args.only in (None, "text"):
        start = time.perf_counter()
        text = textbench.run(root, sources=args.sources, min_distractors=args.distractors)
        text["seconds"] = time.perf_counter() - start
        text["throughput"] = textbench.throughput(root)
        results["text"] = text
        print(
            f"texts: {text['registered']:,} registered ({text['sources']} sources, "
            f"{text['distractors']:,} distractors of which {text['distractor_sentences']:,} "
            f"single sentences; {text['cjk_sources']} Chinese sources)"
        )
        columns = ["queries", "recall@1", "precision", "false_match_queries", "mean_candidates"]
        print(_table("Text", text["rows"], columns))
        print("\nText fingerprints per second (one core):")
        for name, value in text["throughput"].items():
            print(f"  {name:20s} {value:,.0f}")
    if args.only in (None, "image"):
        image = imagebench.run(root, min_distractors=args.distractors)
        results["image"] = image
        print(
            f"\nimages: {image['photos']} photos, distractor tiles per fold "
            f"{image['distractors_per_fold']}"
        )
        columns = ["queries", "recall@1", "precision", "false_positive_rate"]
        print(_table("Image", image["rows"], [*columns, "false_match_queries"]))
    out = CACHE / f"similarity-results{'-' + args.only if args.only else ''}.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nfull results: {out}")


if __name__ == "__main__":
    main()
