"""Bench data: real micro-texts and photos, installed from Debian packages.

``ensure_data()`` downloads the packages with ``apt-get download`` (no root install, nothing
outside ``bench/.cache``) and unpacks them with ``dpkg-deb -x``. Run ``apt-get update`` once
before the first setup on a fresh machine; the setup does it when the download fails.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / ".cache"
DEBS = CACHE / "debs"
ROOT = CACHE / "root"

TEXT_PACKAGES = (
    "fortunes",  # English
    "fortunes-de",
    "fortunes-es",
    "fortunes-it",
    "fortunes-ru",
    "fortunes-pl",
    "fortunes-cs",
    "fortunes-bg",
    "fortunes-br",
    "fortunes-eo",
    "fortunes-ga",
    "fortunes-zh",  # Chinese: Tang and Song poems, proverbs
    "fortunes-mario",
    "fortune-anarchism",
)
IMAGE_PACKAGES = (
    "gnome-backgrounds",
    "mate-backgrounds",
    "plasma-workspace-wallpapers",
    "ukui-wallpapers",
    "lomiri-wallpapers",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
)


def _download(packages: tuple[str, ...]) -> None:
    DEBS.mkdir(parents=True, exist_ok=True)
    have = {p.name.split("_")[0] for p in DEBS.glob("*.deb")}
    missing = [p for p in packages if p not in have]
    if not missing:
        return
    cmd = ["apt-get", "download", *missing]
    if subprocess.run(cmd, cwd=DEBS, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(cmd, cwd=DEBS, check=True)


def ensure_data() -> Path:
    """Download and unpack the bench's packages once; return the unpacked root."""
    stamp = CACHE / ".unpacked"
    wanted = "\n".join(TEXT_PACKAGES + IMAGE_PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return ROOT
    _download(TEXT_PACKAGES + IMAGE_PACKAGES)
    ROOT.mkdir(parents=True, exist_ok=True)
    for deb in sorted(DEBS.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(ROOT)], check=True)
    stamp.write_text(wanted)
    return ROOT
