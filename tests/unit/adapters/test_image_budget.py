"""The per-process decoding budget: how many image pixels are decoded at once."""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Callable

import pytest
from PIL import Image

from copyseal.adapters import image_budget
from copyseal.adapters.image_budget import PixelBudget, with_decoded_image
from copyseal.errors import ContentTooLarge, Unavailable
from copyseal.fingerprint.image import image_fingerprint
from tests.unit.fingerprint.samples import blocky_png, png_header, sample_image


def _until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for another thread to reach a state; fails rather than hangs."""
    for _ in range(2000):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("the other thread never got there")


def _holder(budget: PixelBudget, pixels: int, order: list[int], tag: int) -> threading.Thread:
    def run() -> None:
        with budget.held(pixels):
            order.append(tag)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_holders_beyond_the_budget_wait_their_turn_in_order() -> None:
    budget = PixelBudget(100)
    order: list[int] = []
    with budget.held(60):
        big = _holder(budget, 60, order, 1)  # does not fit beside the first
        _until(lambda: budget.waiting == 1)
        small = _holder(budget, 10, order, 2)  # would fit, but queues behind the big one
        _until(lambda: budget.waiting == 2)
        assert order == [] and budget.in_use == 60
    big.join(5)
    small.join(5)
    assert order == [1, 2] and budget.in_use == 0


def test_what_fits_goes_at_once_and_an_oversized_image_goes_alone() -> None:
    budget = PixelBudget(100)
    with budget.held(40), budget.held(60):
        assert budget.in_use == 100 and budget.waiting == 0
    order: list[int] = []
    with budget.held(1):
        huge = _holder(budget, 10**9, order, 1)  # counted as the whole budget
        _until(lambda: budget.waiting == 1)
    huge.join(5)
    assert order == [1] and budget.in_use == 0


def test_a_full_queue_is_refused_at_once() -> None:
    budget = PixelBudget(100, max_waiting=0)
    with budget.held(100), pytest.raises(Unavailable) as refused, budget.held(1):
        pass
    assert refused.value.retry_after >= 1
    assert budget.in_use == 0 and budget.waiting == 0


def test_a_wait_past_the_deadline_is_refused() -> None:
    ticks = itertools.count(0.0, 100.0)  # each reading of the clock is 100 s later
    budget = PixelBudget(100, wait_seconds=10.0, clock=lambda: next(ticks))
    with budget.held(100), pytest.raises(Unavailable), budget.held(1):
        pass
    assert budget.waiting == 0
    with budget.held(100):  # nothing was left behind
        assert budget.in_use == 100


def test_decoding_holds_the_decoded_pixels_and_gives_them_back() -> None:
    budget = PixelBudget(10**9)
    seen: list[int] = []

    def use(image: Image.Image) -> tuple[int, int]:
        seen.append(budget.in_use)
        return image.size

    data = blocky_png(4200, 4100)  # decoded whole (PNG), then halved for fingerprinting
    assert with_decoded_image(data, use, budget=budget) == (2100, 2050)
    assert seen == [4200 * 4100] and budget.in_use == 0

    buf = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buf, format="JPEG")  # decoded at half size already
    assert with_decoded_image(buf.getvalue(), use, budget=budget) == (2100, 2050)
    assert seen[-1] == 2100 * 2050 and budget.in_use == 0


def test_decoding_errors_give_the_budget_back() -> None:
    budget = PixelBudget(10**9)
    with pytest.raises(ContentTooLarge):  # refused from the header, before taking any
        with_decoded_image(png_header(8001, 8001), image_fingerprint, budget=budget)

    def fails(image: Image.Image) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        with_decoded_image(_png(sample_image(1)), fails, budget=budget)
    assert budget.in_use == 0


def test_large_decodes_return_freed_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(image_budget, "release_free_memory", lambda: trims.append(1))
    with_decoded_image(_png(sample_image(1)), image_fingerprint)
    assert trims == []  # a small image: not worth a trim
    with_decoded_image(blocky_png(2000, 2000), image_fingerprint)
    assert trims == [1]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
