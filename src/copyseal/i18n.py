"""The languages copyseal speaks: English and Simplified Chinese, in gettext catalogues.

Messages are written in English in the source, marked with :func:`_` (or :func:`N_` where
they are defined ahead of use, then translated with :func:`_` when shown), and translated
from the catalogue ``locale/<locale>/LC_MESSAGES/copyseal.po`` of the locale in use. The
locale in use is a context variable: an interface sets it once per request or command
(:func:`use_locale`), from the account's setting, then ``Accept-Language`` (the service) or
``COPYSEAL_LANG`` / ``LANG`` (the CLI), so everything said while it runs is in that language.

``make messages`` extracts the marked messages into ``copyseal.pot`` and merges them into
each catalogue; ``tests/unit/test_i18n.py`` fails while any is left untranslated. Dates and
numbers are formatted in the locale's way by Babel (:func:`format_datetime`,
:func:`format_number`).

A message is translated when it is made: an error raised while a Chinese request runs says
so in Chinese. Machine-readable parts (problem ``type`` URNs, check names, JSON keys) are
never translated.
"""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

DEFAULT = "en"
LOCALES = ("en", "zh_CN")
"""What copyseal speaks, in the spelling of gettext's locale directories."""
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "copyseal"

_current: ContextVar[str] = ContextVar("copyseal_locale", default=DEFAULT)


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of ``locale``, read from its ``.po`` file (no compiled ``.mo`` to keep
    in step); English is the source language and needs none."""
    if locale == DEFAULT:
        return NullTranslations()
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Speak ``locale`` (one of :data:`LOCALES`) in this context."""
    token = _current.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def set_locale(locale: str) -> None:
    """Speak ``locale`` from now on in this context (a CLI command, a request's task)."""
    _current.set(locale if locale in LOCALES else DEFAULT)


def _(message: str) -> str:
    """``message`` in the current locale."""
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current locale."""
    return translations(_current.get()).ungettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (constants defined at
    import time, translated with :func:`_` when shown)."""
    return message


# -- choosing a locale ------------------------------------------------------------------------


def parse_locale(tag: str | None) -> str | None:
    """The locale copyseal speaks for a language tag (``zh-CN``, ``zh_Hans``, ``en-GB``,
    ``zh_CN.UTF-8``), or None if it speaks none for it."""
    if not tag:
        return None
    tag = tag.split(".")[0].split("@")[0].strip().replace("-", "_")
    try:
        parsed = Locale.parse(tag)
    except (ValueError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        # Simplified Chinese, which is what copyseal has; Traditional readers get English
        # rather than the wrong script.
        return (
            None if (parsed.script == "Hant" or parsed.territory in ("TW", "HK", "MO")) else "zh_CN"
        )
    return "en" if parsed.language == "en" else None


def from_accept_language(header: str | None) -> str | None:
    """The best locale of an ``Accept-Language`` header that copyseal speaks (RFC 9110
    quality values; ``*`` and unknown languages ignored)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:32]):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        locale = parse_locale(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def choose(*preferences: str | None) -> str:
    """The first of ``preferences`` (locale codes or tags, best first) copyseal speaks."""
    for preference in preferences:
        locale = parse_locale(preference)
        if locale is not None:
            return locale
    return DEFAULT


def cli_locale(environ: dict[str, str] | None = None) -> str:
    """The CLI's locale: ``COPYSEAL_LANG``, else the POSIX variables in their order."""
    env = os.environ if environ is None else environ
    names: Sequence[str] = ("COPYSEAL_LANG", "LC_ALL", "LC_MESSAGES", "LANG")
    return choose(*(env.get(name) for name in names))


# -- formats ----------------------------------------------------------------------------------


def babel_locale() -> Locale:
    return Locale.parse(_current.get())


def format_datetime(moment: datetime) -> str:
    """A moment in UTC as the locale writes it: ``Dec 1, 2026 21:00:00 UTC``,
    ``2026年12月1日 21:00:00 UTC`` (24-hour: a log's times are read side by side)."""
    utc = moment.astimezone(UTC)
    locale = babel_locale()
    day = format_skeleton("yMMMd", utc, locale=locale)
    return f"{day} {format_skeleton('Hms', utc, tzinfo=UTC, locale=locale)} UTC"


def format_number(value: int | float) -> str:
    return format_decimal(value, locale=babel_locale())
