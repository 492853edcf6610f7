"""Imports point downward through the layers, and the pure core stays pure."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "copyseal"
LAYERS = {
    "core": 0,
    "fingerprint": 1,
    "domain": 2,
    "adapters": 3,
    "contracts": 3,
    "services": 4,
    "cli": 5,
    "server": 5,
}
SHARED = {"copyseal", "copyseal.errors"}
CORE_MAY_IMPORT = {"cryptography", "rfc8785"}
PURE_LAYERS = {"core", "fingerprint", "domain"}
IMPURE_MODULES = {"os", "socket", "subprocess", "sqlite3", "random", "secrets", "time", "httpx"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _layer(path: Path) -> str | None:
    rel = path.relative_to(SRC).parts
    return rel[0] if len(rel) > 1 else None


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_downward(path: Path) -> None:
    layer = _layer(path)
    if layer is None:
        return
    assert layer in LAYERS, f"{layer} is not a known layer; add it to LAYERS"
    for name in _imports(path):
        if name in SHARED or not name.startswith("copyseal."):
            continue
        target = name.split(".")[1]
        assert LAYERS[target] <= LAYERS[layer], f"{path.name} ({layer}) imports {name}"
        if layer in ("cli", "server"):
            assert target != ({"cli": "server", "server": "cli"}[layer]), name


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _layer(p) in PURE_LAYERS],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_pure_layers_do_no_io(path: Path) -> None:
    layer = _layer(path)
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in IMPURE_MODULES, f"{path.name} imports {name}"
        if layer == "core" and top != "copyseal":
            allowed = top in CORE_MAY_IMPORT or top in sys.stdlib_module_names
            assert allowed, f"core module {path.name} imports {name}"
    source = path.read_text()
    for call in (r"(?<![\w.])open\(", r"datetime\.now", r"urandom"):
        assert not re.search(call, source), f"{path.name} calls {call}"


def _type_comparisons(path: Path) -> list[int]:
    """Lines comparing something's ``type`` (a claim's, an entry's) with a string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names_type = any(isinstance(s, ast.Attribute) and s.attr == "type" for s in sides)
        strings = any(
            isinstance(c, ast.Constant) and isinstance(c.value, str)
            for s in sides
            for c in ([s] if not isinstance(s, ast.Tuple | ast.List | ast.Set) else s.elts)
        )
        if names_type and strings:
            found.append(node.lineno)
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if p.relative_to(SRC).parts[:2] != ("core", "kinds")],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_only_the_kinds_compare_a_claims_type_with_a_name(path: Path) -> None:
    """What a claim of a type means is its kind's to say (``core/kinds``); a comparison
    elsewhere is how a kind gets forgotten when another is added."""
    assert _type_comparisons(path) == [], f"{path.name} compares .type with a name"
