"""The terminal console every command prints through: rich, showing text as it is.

Apart from :mod:`placecount.escape` so that a command writing JSON, CSV or a file never
imports rich.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from .escape import in_encoding, visible


class SafeConsole(Console):
    """A rich console that prints text as it is: no markup (``[link=…]`` in a cell would be
    a live hyperlink), no emoji codes, and control characters shown as escapes.

    >>> import io
    >>> out = io.StringIO()
    >>> SafeConsole(file=out, width=40).print("[bold]x[/bold]\\x1b[2J")
    >>> out.getvalue()
    '[bold]x[/bold]\\\\x1b[2J\\n'
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Every string rich shows (table cells, titles, printed lines) passes here; where
        the output's encoding lacks a character ("£" in ASCII), its look-alike is put in
        before rich measures the text, so the table's columns stay in line."""
        text = visible(text, keep_newlines=True)
        if not self.encoding.startswith("utf"):
            text = in_encoding(text, self.encoding)
        return super().render_str(text, **kwargs)
