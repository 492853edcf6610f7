"""Run the benchmarks and print their figures as one table of medians."""

from __future__ import annotations

import importlib
import sys

from rich.console import Console
from rich.table import Table

from bench.common import Figure

SUITES = ["registry", "server", "bodies", "chain", "transparency", "search"]


def main(names: list[str]) -> None:
    console = Console(emoji=False, highlight=False)
    table = Table("suite", "figure", "median", "target", "note", title="copyseal benchmarks")
    for name in names or SUITES:
        console.print(f"running {name} …")
        module = importlib.import_module(f"bench.{name}")
        figures: list[Figure] = module.run()
        for f in figures:
            value = f"{f.value:,.0f} {f.unit}" if f.value >= 100 else f"{f.value:,.2f} {f.unit}"
            table.add_row(name, f.name, value, f.target, f.note)
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
