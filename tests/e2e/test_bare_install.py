"""A bare `pip install copyseal` (its real dependencies, no extra) verifies certificates.

The package is installed from a copy of the source into a fresh virtual environment, so
nothing of the development environment (numpy, FastAPI, web3, …) is there to lean on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli import cs, cs_json, register_text

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.slow


def install_bare(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    # Without a pip of its own (ensurepip alone takes longer than the install): this
    # environment's pip installs into it, resolving copyseal's bare dependencies afresh.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "-q", str(source)]
    subprocess.run(pip, check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return venv / "bin"


def test_a_bare_install_verifies_and_names_the_extras_it_lacks(tmp_path: Path) -> None:
    home = tmp_path / "registry"
    assert cs_json(home, "init", "--origin", "bare.test/log")[0] == 0
    cert = register_text(home, tmp_path / "certs", "verified by a bare install")["certificate"]
    vkey = cs(home, "log", "key")[1].strip()
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(cs(home, "log", "checkpoint")[1])

    bin_dir = install_bare(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("COPYSEAL_HOME", "PYTHONPATH")}

    def bare(*args: str) -> tuple[int, str]:
        done = subprocess.run(
            [str(bin_dir / "copyseal"), *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        return done.returncode, done.stdout + done.stderr

    for module in ("numpy", "fastapi", "web3", "PIL", "reportlab"):
        found = subprocess.run([str(bin_dir / "python"), "-c", f"import {module}"], env=env)
        assert found.returncode != 0, f"{module} is installed by a bare install"

    verifier = str(tmp_path / "verifier")
    code, output = bare("verify", cert, "--home", verifier)
    assert code == 11 and "log key not trusted" in output, output
    code, output = bare("verify", cert, "--log-key", vkey, "--home", verifier)
    assert code == 0 and "verified" in output, output
    assert bare("trust", "add-log", vkey, "--home", verifier)[0] == 0
    code, output = bare("verify", cert, "--home", verifier)
    assert code == 0 and "verified" in output, output
    assert bare("log", "verify-checkpoint", str(checkpoint), "--key", vkey)[0] == 0

    code, output = bare("register", "--text", "needs fingerprints", "--home", str(home))
    assert code == 19 and "copyseal[registry]" in output, output
    code, output = bare("serve", "--home", str(home))
    assert code == 19 and "copyseal[server]" in output, output
    code, output = bare("init", "--home", str(tmp_path / "new"))
    assert code == 19 and "copyseal[registry]" in output, output
    assert not (tmp_path / "new").exists()  # nothing half-made to refuse the next init
