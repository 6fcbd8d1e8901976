"""Text out of rich formats, with well-kept parsers: HTML (selectolax), PDF (pypdf), DOCX (python-docx).

Each function takes a file's content and returns its text (not yet normalised), or raises Reject
with a reason from ragft.ingest.REASONS. Parsers meet malformed files with many exception types,
so each parse is wrapped once, here, and its failure becomes a `parse_error` naming the cause.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter

from selectolax.lexbor import LexborHTMLParser

# Tags whose content is never main text, and page furniture outside the main content.
HTML_DROP = ("script", "style", "noscript", "template", "iframe", "object", "svg", "canvas", "head",
             "nav", "aside", "form", "button", "select", "dialog")
HTML_FURNITURE = ("header", "footer")  # dropped unless inside <main> or <article>
HTML_DROP_ROLES = "[role=navigation], [role=banner], [role=contentinfo], [role=search], [hidden], [aria-hidden=true]"
HTML_BLOCKS = ("p, div, section, article, main, li, ul, ol, dl, dt, dd, h1, h2, h3, h4, h5, h6, pre, "
               "blockquote, table, tr, figcaption, caption, address, hr, br")
HTML_CELLS = "td, th"
RUNNING_EDGE = 2  # header/footer candidates: this many non-blank lines at each end of a page
RUNNING_SHARE = 0.5  # ... that recur on at least this share of pages (see drop_running_lines)
RUNNING_MIN_PAGES = 3  # ... and on at least this many pages; also the shortest run of page numbers

_DIGITS = re.compile(r"\d+")
_BARE_NUMBER = re.compile(r"\D*?(\d+)\D*")  # one number, nothing else but punctuation: `12`, `- 12 -`


class Reject(Exception):
    """Raised while reading when the whole file (or one record) is one rejected item."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


# --- HTML ------------------------------------------------------------------------------------


def html_text(markup: str) -> tuple[str, str]:
    """(title, main text) of an HTML page: no script, style, navigation, header or footer; one line
    per block element. The main text is that of <main>, else <article>, else <body>."""
    tree = LexborHTMLParser(markup)
    title = _first_text(tree, "title") or _first_text(tree, "h1")
    tree.strip_tags(list(HTML_DROP))
    for node in tree.css(HTML_DROP_ROLES):
        node.decompose()
    for node in tree.css(", ".join(HTML_FURNITURE)):
        if not _inside(node, ("main", "article")):
            node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.css_first("[role=main]") or tree.body or tree.root
    if root is None:
        return title, ""
    for node in root.css(HTML_BLOCKS):
        node.insert_after("\n")
    for node in root.css(HTML_CELLS):
        node.insert_after(" ")
    return title, root.text(separator="")


def _first_text(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return node.text(separator=" ") if node is not None else ""


def _inside(node, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


# --- PDF -------------------------------------------------------------------------------------


def pdf_pages(raw: bytes) -> list[str]:
    """The text layer of each page (a page that fails to extract gives ''); Reject `encrypted` when a
    password is needed, `parse_error` when the file is not a readable PDF."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # recoverable-structure warnings are noise here
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Reject("encrypted", "the PDF needs a password to open; decrypt it first (e.g. qpdf --decrypt)")
        return [_page_text(page) for page in reader.pages]
    except Reject:
        raise
    except (DependencyError, FileNotDecryptedError) as exc:
        raise Reject("encrypted", f"cannot decrypt the PDF: {exc}") from None
    except Exception as exc:  # pypdf raises many types on malformed files
        raise Reject("parse_error", f"not a readable PDF: {type(exc).__name__}: {exc}") from None


def _page_text(page) -> str:
    try:
        return page.extract_text() or ""
    except Exception:  # one damaged page costs only its own text
        return ""


def drop_running_lines(pages: list[str]) -> tuple[list[str], int]:
    """Remove running headers and footers: lines near a page's top or bottom that recur there on most
    pages as the same text, as the same text but its numbers when it has letters (`Page 3 of 9` ~
    `Page 4 of 9`), or as a bare page number counting up with the page (`12`, `- 13 -`); (pages,
    lines removed). A number without letters (`$ 1,234`, `(370)`) goes only when its text recurs."""
    if len(pages) < RUNNING_MIN_PAGES:
        return pages, 0
    edges = [_edge_keys(page, p) for p, page in enumerate(pages)]  # [(line index, its keys)] per page
    counts = Counter(key for page in edges for key in set().union(*(keys for _, keys in page)))
    running = _running(counts, max(RUNNING_MIN_PAGES, math.ceil(RUNNING_SHARE * len(pages))))
    if not running:
        return pages, 0
    removed, out = 0, []
    for page, page_edges in zip(pages, edges):
        drop = {i for i, keys in page_edges if keys & running}
        removed += len(drop)
        out.append("\n".join(line for i, line in enumerate(page.split("\n")) if i not in drop))
    return out, removed


def _edge_lines(page: str) -> list[int]:
    """Indices of the first and last RUNNING_EDGE non-blank lines of a page."""
    idx = [i for i, line in enumerate(page.split("\n")) if line.strip()]
    return sorted(set(idx[:RUNNING_EDGE] + idx[-RUNNING_EDGE:]))


def _edge_keys(page: str, index: int) -> list[tuple[int, set[tuple]]]:
    """(line index, its running keys) of each edge line of page `index`."""
    lines = page.split("\n")
    return [(i, _running_keys(lines[i], index)) for i in _edge_lines(page)]


def _running_keys(line: str, page: int) -> set[tuple]:
    """The forms in which an edge line of page `page` (0-based) may recur: ("text", its text); if it
    has letters, ("blind", its text with each number as #); if it is a bare number, ("page", its
    shape, the number minus the page index), which stays the same while it counts up with the page."""
    text = " ".join(line.split()).lower()
    keys = {("text", text)}
    if any(c.isalpha() for c in text):
        keys.add(("blind", _DIGITS.sub("#", text)))
    elif number := _BARE_NUMBER.fullmatch(text):
        keys.add(("page", _DIGITS.sub("#", text), int(number[1]) - page))
    return keys


def _running(counts: Counter[tuple], need: int) -> set[tuple]:
    """The keys on at least `need` pages; page numbers count when they run on RUNNING_MIN_PAGES pages
    with one offset and such runs of one shape (numbering restarts in each appendix) cover `need`."""
    running = {key for key, n in counts.items() if key[0] != "page" and n >= need}
    runs = [key for key, n in counts.items() if key[0] == "page" and n >= RUNNING_MIN_PAGES]
    shapes: Counter[str] = Counter()
    for key in runs:
        shapes[key[1]] += counts[key]
    return running | {key for key in runs if shapes[key[1]] >= need}


# --- DOCX ------------------------------------------------------------------------------------


def docx_text(raw: bytes) -> tuple[str, str]:
    """(title, text) of a .docx: paragraphs and table rows (cells joined by ' | ') in document order.

    The title is the document property, else the first Title or Heading 1 paragraph."""
    import docx
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
        lines, title = [], document.core_properties.title or ""
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(block.text)
                if not title and block.style is not None and block.style.name in ("Title", "Heading 1"):
                    title = block.text
            else:
                lines.extend(" | ".join(cell.text for cell in row.cells) for row in block.rows)
    except Exception as exc:  # python-docx and zipfile raise many types on damaged files
        raise Reject("parse_error", f"not a readable .docx: {type(exc).__name__}: {exc}") from None
    return title, "\n".join(lines)
