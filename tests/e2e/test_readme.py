"""The README's tour, executed line by line as a user would type it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def tour_commands() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- tour -->\s*```sh\n(.*?)```\s*<!-- /tour -->", text, re.S)
    assert block, "README.md has no tour block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_tour_runs(tmp_path: Path) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "COPYSEAL_HOME"}
    env["PATH"] = bin_dir + os.pathsep + env["PATH"]
    script = "set -euo pipefail\n" + "\n".join(tour_commands()) + "\n"
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout
    assert "log key not trusted" in result.stderr  # a home that trusts no log yet
    assert "refused: ./verifier trusts no log yet" in result.stdout
    assert result.stdout.count("\nverified\n") >= 2  # by the log's home, then the verifier's
    assert "already registered" in result.stdout
    assert "audit clean" in result.stdout
    assert "original" in result.stdout  # check found the earlier poem and marked it
    assert "refused: another creator registered it first" in result.stdout
    assert len(list((tmp_path / "certs").glob("*.cert.json"))) == 3
    consistency = json.loads(
        result.stdout[result.stdout.rindex('{\n  "old_size"') :].split("\n}\n")[0] + "\n}"
    )
    assert consistency["old_size"] == 1 and consistency["new_size"] == 3
