"""etl.textsafe: values from input shown on a rich console as written, never obeyed."""
from __future__ import annotations

import io

from rich.console import Console

from etl.textsafe import for_terminal, strip_controls


def _rendered(text: str) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=400).print(
        f"[red]failed[/red] {for_terminal(text)}", highlight=False)
    return out.getvalue()


def test_markup_in_a_value_is_shown_not_interpreted():
    # The crash: a file whose content holds rich closing tags.
    shown = _rendered("labs [/RED] [bold]x[/bold] [link=http://evil]click[/link]")
    assert "[/RED] [bold]x[/bold] [link=http://evil]click[/link]" in shown
    assert "\x1b]8;" not in shown                # no hyperlink written


def test_terminal_escape_sequences_and_controls_become_visible():
    hostile = "P1\x1b[2J\x1b]0;owned\x07\rname\x00\x9b31m\u202eevil"
    safe = strip_controls(hostile)
    assert safe == "P1\\x1b[2J\\x1b]0;owned\\x07\\x0dname\\x00\\x9b31m\\u202eevil"
    shown = _rendered(hostile)
    assert "\x1b[2J" not in shown and "\x07" not in shown and "\r" not in shown and "\u202e" not in shown


def test_plain_text_tabs_and_newlines_pass_unchanged():
    assert for_terminal("Magnésium 0,82 mmol/L\tline two\n") == "Magnésium 0,82 mmol/L\tline two\n"


def test_undecodable_bytes_carried_as_surrogates_are_shown_as_escapes():
    text = b"P\xff1".decode("utf-8", "surrogateescape")
    assert for_terminal(text) == "P\\udcff1"
    _rendered(text)  # and printing it does not raise
