"""Reading the report page back: its tables by id, with each cell's attributes and text."""
from __future__ import annotations

import re
from html.parser import HTMLParser


class Page(HTMLParser):
    """Collects every table (by id) as rows of (row attributes, [(cell attributes, text)]),
    every element with `data-figure`, and the text of every <script>."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list] = {}
        self.figures: dict[str, str] = {}
        self.scripts: list[str] = []
        self._table = None
        self._row = None
        self._cell = None
        self._figure = None
        self._script = None
        self._model = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("id", "").startswith("model-"):
            self._model = attrs["id"].removeprefix("model-")
        if tag == "table":
            # tables repeated per model are keyed "<class>@<model name>"
            key = attrs.get("id") or f"{attrs.get('class')}@{self._model}"
            self._table = self.tables.setdefault(key, [])
        elif tag == "tr" and self._table is not None:
            self._row = (attrs, [])
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [attrs, ""]
        if "data-figure" in attrs:
            self._figure = [attrs["data-figure"], ""]
        if tag == "script":
            self._script = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append((self._cell[0], " ".join(self._cell[1].split())))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "div" and self._figure is not None:
            self.figures[self._figure[0]] = " ".join(self._figure[1].split())
            self._figure = None
        elif tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data
        if self._figure is not None:
            self._figure[1] += data
        if self._script is not None:
            self._script.append(data)

    def body_rows(self, table: str) -> list[tuple[dict, list[tuple[dict, str]]]]:
        """The rows below the header row."""
        return self.tables[table][1:]


def number(text: str) -> float:
    return float(text.replace(",", ""))


def integers(text: str) -> list[int]:
    """Every whole number written in a text, thousands separators read (`1,500` is one number)."""
    return [int(n.replace(",", "")) for n in re.findall(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d.])|(?<![\d.,])\d+(?![\d.,])", text)]
