"""Text from other people's spreadsheets made harmless for where it is shown (issue #14).

A label is data, never instructions: in a terminal, a cell holding ``ESC[2J`` must not
clear the screen (and forge "All lines mapped" below), a right-to-left override must not
turn a figure round; in a Markdown report, a label holding a newline and three backticks
must not close the code block, nor a ``|`` add a table cell or ``<script>`` become HTML.

>>> visible("a\\x1b[2Jb")
'a\\\\x1b[2Jb'
>>> md_cell("x | y\\n<b>")
'x \\\\| y \\\\<b\\\\>'
>>> md_fence(["one ``` two"]).splitlines()[0]
'````'
"""

from __future__ import annotations

import re
import unicodedata

#: Characters that change how text is laid out or read while showing nothing: bidi
#: embeddings, overrides and isolates, and the line and paragraph separators.
_FORMAT = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)


def _hidden(ch: str, keep_newlines: bool) -> bool:
    if ch == "\n":
        return not keep_newlines
    return ch in _FORMAT or unicodedata.category(ch) == "Cc"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters (C0, DEL, C1) and bidi controls written as escapes
    (``\\x1b``, ``\\u202e``), so a terminal shows them instead of obeying them. A newline
    is kept only with ``keep_newlines`` (our own multi-line messages).

    >>> visible("total\\r\\x08\\u202e")
    'total\\\\x0d\\\\x08\\\\u202e'
    """
    if text.isprintable() and (keep_newlines or "\n" not in text):
        return text
    return "".join(_escape(ch) if _hidden(ch, keep_newlines) else ch for ch in text)


# -- Markdown ---------------------------------------------------------------------------

#: ASCII punctuation that starts Markdown inline syntax or raw HTML, or splits a GFM
#: table cell; CommonMark lets any of it be written with a backslash as a literal.
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>|~]|&(?=#?[0-9A-Za-z]+;)")


def md_cell(text: str) -> str:
    """Text for a Markdown table cell or heading: on one line, its Markdown and HTML
    written as literals (``|`` cannot start a new cell, ``<`` cannot open a tag).

    >>> md_cell("Police & Crime")
    'Police & Crime'
    >>> md_cell("a\\n| b | c |")
    'a \\\\| b \\\\| c \\\\|'
    """
    one_line = visible(re.sub(r"[\r\n]+", " ", text))
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), one_line)


def md_text(text: str) -> str:
    """A paragraph of someone else's text: as :func:`md_cell`, and a leading ``#``, ``-``,
    ``+``, ``=`` or ``1.`` cannot make it a heading or a list.

    >>> md_text("# Not a heading")
    '\\\\# Not a heading'
    """
    cell = md_cell(text).lstrip()
    if cell[:1] in ("#", "-", "+", "=", ">"):
        return "\\" + cell
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", cell)


def md_fence(lines: list[str]) -> str:
    """Lines as a Markdown code block whose fence is longer than any run of backticks in
    them, so nothing inside can close it (CommonMark's rule for fences).

    >>> print(md_fence(["a"]))
    ```
    a
    ```
    """
    body = "\n".join(visible(line) for line in lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}"


#: ASCII look-alikes of the characters placecount writes itself (arrows, dashes, "£"),
#: for a terminal or file whose encoding (a Windows code page, ASCII) has no place for them.
LOOK_ALIKES = {
    "→": "->",
    "←": "<-",
    "−": "-",
    "–": "-",
    "—": "-",
    "…": "...",
    "›": ">",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "·": ".",
    "×": "x",
    "≠": "!=",
    "£": "GBP ",
    "€": "EUR ",
}


def in_encoding(text: str, encoding: str) -> str:
    """``text`` with each character ``encoding`` lacks as its look-alike (or ``?``), so that
    a table is laid out with the characters it will really show.

    >>> in_encoding("£5 → x", "ascii")
    'GBP 5 -> x'
    """
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    out = []
    for ch in text:
        try:
            ch.encode(encoding)
            out.append(ch)
        except (UnicodeEncodeError, LookupError):
            out.append(LOOK_ALIKES.get(ch, "?"))
    return "".join(out)
