"""How many image pixels one process decodes at once, and giving their memory back after.

A small file can hold a large image: a flat 8,000 × 8,000 PNG is under a megabyte and decodes
to 256 MB. :func:`with_decoded_image` reads the header, takes the pixels it will decode from
the process's :data:`DECODING` budget (first come, first served), decodes and fingerprints,
drops the pixels and only then gives the budget back. A decode that cannot start within
``wait_seconds``, or finds ``max_waiting`` others already waiting, is refused with
:class:`Unavailable` (HTTP 503 with ``Retry-After``) instead of queueing without bound:
a waiting thread holds nothing but its request's bytes, no store connection or lock.

glibc keeps freed blocks in its heaps (each thread has its arena, and the mmap threshold
rises to the largest block freed), so a burst of large decodes would leave the process
gigabytes larger than it needs. After a large decode, :func:`release_free_memory` hands the
free pages back (``malloc_trim``). Measured in ``docs/similarity.md``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from PIL import Image

from copyseal.adapters.media import MAX_IMAGE_PIXELS, decoded_pixels, load_image, open_image
from copyseal.errors import Unavailable

T = TypeVar("T")

DECODE_PIXELS = 2 * MAX_IMAGE_PIXELS
"""Pixels one process decodes at once: two of the largest images (RGB takes 4 bytes a pixel,
and reducing one adds a quarter), about 700 MB, or many ordinary photos."""
MAX_WAITING = 16
WAIT_SECONDS = 10.0
TRIM_PIXELS = 4_000_000
"""Decodes from this size on give their freed memory back to the system."""


class PixelBudget:
    """A first-come, first-served semaphore counting pixels.

    An image larger than the whole budget waits until nothing else is decoding, then runs
    alone."""

    def __init__(
        self,
        pixels: int,
        *,
        max_waiting: int = MAX_WAITING,
        wait_seconds: float = WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = pixels
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._in_use = 0
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextmanager
    def held(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the budget for the ``with`` block, waiting for them if needed."""
        pixels = min(pixels, self.capacity)
        with self._changed:
            if self._queue or self._in_use + pixels > self.capacity:
                self._wait_turn(pixels)
            self._in_use += pixels
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= pixels
                self._changed.notify_all()

    def _wait_turn(self, pixels: int) -> None:
        if len(self._queue) >= self.max_waiting:
            raise self._busy()
        ticket = object()
        self._queue.append(ticket)
        deadline = self._clock() + self.wait_seconds
        try:
            while self._queue[0] is not ticket or self._in_use + pixels > self.capacity:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise self._busy()
                self._changed.wait(remaining)
        finally:
            self._queue.remove(ticket)
            self._changed.notify_all()  # the next in line may fit now

    def _busy(self) -> Unavailable:
        return Unavailable(
            "the service is decoding as many images as its memory allows; try again shortly",
            retry_after=max(1.0, self.wait_seconds / 2),
        )


DECODING = PixelBudget(DECODE_PIXELS)
"""This process's budget, shared by every thread that fingerprints images."""


def with_decoded_image(
    data: bytes, use: Callable[[Image.Image], T], *, budget: PixelBudget = DECODING
) -> T:
    """``use(image)`` on the image in ``data``, decoded as ``copyseal.adapters.media``
    decodes it for fingerprinting, within ``budget``; the pixels are gone when it returns."""
    opened = open_image(data)
    pixels = decoded_pixels(opened)
    try:
        with budget.held(pixels):
            image = load_image(opened)
            try:
                return use(image)
            finally:
                image.close()
                opened.close()
    finally:
        opened.close()
        if pixels >= TRIM_PIXELS:
            release_free_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], Any] = libc.malloc_trim  # glibc's; musl has none
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    """Return the heap's free pages to the system (glibc), so a burst of decodes does not
    leave the process at its peak size. Elsewhere nothing is needed or done."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
