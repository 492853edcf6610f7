"""copyseal speaks English and Chinese: every marked message is translated, placeholders
agree, and a request or command gets the language it asks for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from copyseal import i18n

SRC = Path(i18n.__file__).parent.parent
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
METHODS = [
    ("copyseal/**.py", "python"),
    ("copyseal/server/templates/**.html", "jinja2"),
]
OPTIONS = {
    "copyseal/server/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]*(?::[^}]*)?\}")


def _extracted() -> dict[str, str]:
    """Every message marked in the source, with where it is (as `make messages` finds them)."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SRC), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, f"{filename}:{lineno}")
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def test_every_marked_message_is_translated() -> None:
    extracted = _extracted()
    assert len(extracted) > 10, "the extraction found the marked messages"
    for locale in i18n.LOCALES:
        if locale == i18n.DEFAULT:
            continue
        catalog = _catalog(locale)
        untranslated = []
        for text, where in sorted(extracted.items()):
            message = catalog.get(text)
            strings = (
                []
                if message is None
                else (
                    list(message.string) if isinstance(message.string, tuple) else [message.string]
                )
            )
            if message is None or message.fuzzy or not all(strings):
                untranslated.append(f"{where}: {text!r}")
        assert not untranslated, f"{locale}: untranslated:\n" + "\n".join(untranslated)


def test_translations_keep_their_placeholders() -> None:
    for locale in i18n.LOCALES[1:]:
        for message in _catalog(locale):
            if not message.id or not message.string:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = sorted(PLACEHOLDER.findall(ids[-1]))
            for string in strings:
                assert sorted(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


def test_a_message_is_said_in_the_context_s_language() -> None:
    assert i18n._("Register") == "Register"
    with i18n.use_locale("zh_CN"):
        assert i18n._("Register") == "登记作品"
        assert i18n._("a message nobody marked") == "a message nobody marked"
    assert i18n.current() == "en"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-GB,en;q=0.9,zh;q=0.5", "en"),
        ("fr-FR,fr;q=0.9", None),
        ("fr;q=1.0, zh-Hans;q=0.4", "zh_CN"),
        ("zh-TW,zh;q=0.8", "zh_CN"),  # Traditional asked first: the plain "zh" still counts
        ("zh-TW", None),
        ("en;q=0, zh;q=0.1", "zh_CN"),
        ("*", None),
        ("", None),
        ("zh-CN;q=oops, en", "en"),
    ],
)
def test_accept_language(header: str, locale: str | None) -> None:
    assert i18n.from_accept_language(header) == locale


def test_the_cli_reads_the_posix_variables_in_their_order() -> None:
    assert i18n.cli_locale({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.cli_locale({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}) == "en"
    assert i18n.cli_locale({"COPYSEAL_LANG": "zh", "LANG": "en_US.UTF-8"}) == "zh_CN"
    assert i18n.cli_locale({}) == "en"
