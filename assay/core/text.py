"""Text made safe for one-line messages and table cells."""

from __future__ import annotations

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with line breaks, tabs and other control characters escaped (``\\n``, ``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(_ESCAPES.get(c, c if c.isprintable() or c == " " else f"\\x{ord(c):02x}"
                                   if ord(c) < 256 else f"\\u{ord(c):04x}") for c in text)
