"""What a title may hold, and how one that holds more is shown.

A title is one line of text. Control characters (C0, DEL, C1), line and paragraph
separators, and the explicit bidirectional embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069) are refused at admission (``domain/admission.py``): they hide
text, or make it read in another order than it is stored. The marks U+200E, U+200F and U+061C
stay: right-to-left titles need them, and they reorder nothing beyond their neighbours.
Titles logged before that rule may still hold such characters: :func:`visible_text` spells
them out for displays that cannot isolate text. Nothing here needs more than the standard
library, so a bare install shows titles too.
"""

from __future__ import annotations

import re
import unicodedata

from copyseal.errors import InvalidInput

UNSAFE_IN_TITLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What a title may not hold, and what :func:`visible_text` spells out."""


def check_title(title: str, *, label: str | None = None) -> None:
    """Raise InvalidInput if ``title`` is not one line of plain text (see above)."""
    found = UNSAFE_IN_TITLE.search(title)
    if found is None:
        return
    char = found.group()
    name = unicodedata.name(char, "a control character")
    where = f"{label}: the title" if label else "the title"
    raise InvalidInput(
        f"{where} holds U+{ord(char):04X} ({name}) at position {found.start() + 1}; "
        "a title is one line of text",
        hint="Remove line breaks, control characters and bidirectional overrides or "
        "isolates from the title.",
        label=label,
    )


def visible_text(text: str) -> str:
    """``text`` with each character a title may not hold spelled ``<U+202E>``, for displays
    that cannot isolate it (a terminal, a PDF, a page's title)."""
    return UNSAFE_IN_TITLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
