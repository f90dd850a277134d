"""Text from input files made safe for the terminal: shown as written, never obeyed.

A value from an export (a header name, a file name, a reason a reader gives) reaches the console
through rich, which reads `[red]...[/red]` as markup, and through the terminal, which obeys
escape sequences (`ESC [ 2 J` clears the screen, OSC 8 writes links, a bare CR overwrites the line).
`for_terminal` escapes rich's markup and replaces every control character with a visible
`\\xNN` (or `\\uNNNN`) form, so what the sender wrote is shown and nothing of it is executed.
"""
from __future__ import annotations

import re
import unicodedata

from rich.markup import escape

# C0 and C1 control characters except tab and newline, DEL, and the Unicode characters that
# reorder or hide text (bidirectional overrides, zero-width marks, line/paragraph separators).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def strip_controls(text: str) -> str:
    """Control characters (and surrogates left by undecodable bytes) as visible escapes."""
    text = _CONTROL.sub(_visible, text)
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        text = "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) == "Cs" else ch for ch in text)
    return text


def for_terminal(text: object) -> str:
    """`text` (anything; `str()` is taken) for a rich console: markup escaped, controls visible."""
    return escape(strip_controls(str(text)))


__all__ = ["for_terminal", "strip_controls"]
