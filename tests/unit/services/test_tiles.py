"""tlog-tiles paths: one spelling per tile, parsed strictly."""

from __future__ import annotations

import pytest

from copyseal.errors import NotFound
from copyseal.services.tiles import encode_tile_index, parse_tile_path, tile_path


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_spelling(index: int, path: str) -> None:
    assert encode_tile_index(index) == path
    assert parse_tile_path(path) == (index, None)


def test_partial_tiles() -> None:
    assert parse_tile_path("x001/x234/067.p/8") == (1234067, 8)
    assert tile_path(0, 1234067, 8) == "tile/0/x001/x234/067.p/8"
    assert tile_path("entries", 3) == "tile/entries/003"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "7",
        "0007",
        "x000/007",
        "001/002",
        "x1/002",
        "000.p/0",
        "000.p/256",
        "000.p/08",
        "000.p",
        "000.p/",
        "x001/x002/x003/x004/x005/x006/x007/000",
        "../000",
        "000/",
    ],
)
def test_other_spellings_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        parse_tile_path(path)
