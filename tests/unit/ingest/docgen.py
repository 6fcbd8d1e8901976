"""Generators of test documents for the ingest tests: prose that passes every filter, text-layer PDFs,
Word files; and `write`, which puts one on disk.

The ingest tests import it as `.docgen` (tests/unit is a package); nothing here is committed data.
"""

import io
import random

WORDS = (
    "apple pear plum quince cherry orchard frost blossom harvest storage winter summer grower "
    "soil water root branch leaf fruit season market yield pruning graft rootstock canopy "
    "irrigation nitrogen potash spray pest beetle moth aphid mildew scab canker weather valley "
    "terrace slope north south river cellar crate label farmer cooperative record trial variety"
).split()
ORCHARD_PAGES = [
    ["Apples need cold winters to set fruit and the infor-", "mation on chill hours is kept by growers."],
    ["Pears ripen after harvest in cool storage rooms.", "Quinces stay hard and need cook-", "ing before they are eaten."],
    ["Plums flower early and frost can de-", "stroy the blossom in a single night."],
]
# each page one paragraph: a line that runs to the page's width, or stops before a lower-case word, was wrapped
ORCHARD_TEXT = (
    "Apples need cold winters to set fruit and the information on chill hours is kept by growers.\n\n"
    "Pears ripen after harvest in cool storage rooms. Quinces stay hard and need cooking before they are eaten.\n\n"
    "Plums flower early and frost can destroy the blossom in a single night."
)
BODY = "Korvell Amber is a late-ripening apple variety grown on the northern terraces."  # 79 chars


def make_prose(key: str, words: int = 60) -> str:
    """Deterministic sentences for `key`; different keys share almost no word 5-grams."""
    rng = random.Random(key)
    out, sentence = [], []
    for _ in range(words):
        sentence.append(rng.choice(WORDS))
        if len(sentence) >= rng.randint(6, 12):
            out.append(" ".join(sentence).capitalize() + ".")
            sentence = []
    if sentence:
        out.append(" ".join(sentence).capitalize() + ".")
    return " ".join(out)


def make_pdf(pages: list[list[str]], header: str | None = None, footer: bool = False) -> bytes:
    """A text-layer PDF (fpdf2): one list of lines per page, optional running header and page footer."""
    from fpdf import FPDF

    class PDF(FPDF):
        def header(self):
            if header:
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            if footer:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, f"Page {self.page_no()} of {{nb}}")

    pdf = PDF()
    pdf.set_font("Helvetica", size=11)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


FILING_HEADER = "ACME ORCHARDS INC. - ANNUAL REPORT ON FORM 10-K - FISCAL 2018"
FILING_ROWS = ("Net sales", "Cost of sales", "Selling, general and administrative expenses", "Research and development",
               "Operating income", "Interest expense", "Income taxes", "Net income")


def make_filing_pdf(pages: int, footer: str = "{page}", totals: list[str] | None = None) -> tuple[bytes, list[str]]:
    """A PDF laid out as an SEC 10-K (fpdf2), and its prose paragraphs: on each page a running
    header, a paragraph, a financial table ((Millions) 2018 2017 2016, then rows of `$` and amounts
    or `-`), a paragraph, then with `totals` a row `Total assets $ {totals[page]}`, and a footer
    (`footer` with the page number, default the bare number). Each cell is its own text object, with
    an invisible space below it, as HTML-to-PDF filings are written, so the text layer gives one cell
    per line."""
    from fpdf import FPDF

    class Filing(FPDF):
        def header(self):
            self.set_font("Helvetica", size=8)
            self.cell(0, 6, FILING_HEADER, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 8, footer.format(page=self.page_no()), align="C")

    pdf, paragraphs = Filing(), []
    for page in range(pages):
        pdf.add_page()
        paragraphs += [make_prose(f"filing page {page} paragraph {n}", 90) for n in range(2)]
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 5, paragraphs[-2], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        rows = [[(15, "(Millions)"), (90, "2018"), (125, "2017"), (160, "2016")]]
        for r, label in enumerate(FILING_ROWS):
            amounts = ["-" if (r + c + page) % 4 == 0 else f"{(page * 977 + r * 131 + c * 17) % 9000 + 100:,}" for c in range(3)]
            rows.append([(15, label)] + [cell for c, a in enumerate(amounts) for cell in ((82 + 35 * c, "$"), (90 + 35 * c, a))])
        y = _cells(pdf, rows, pdf.get_y() + 8)
        pdf.set_font("Helvetica", size=10)
        pdf.set_y(y)
        pdf.multi_cell(0, 5, paragraphs[-1], new_x="LMARGIN", new_y="NEXT")
        if totals:
            pdf.set_font("Helvetica", size=9)
            _cells(pdf, [[(15, "Total assets"), (82, "$"), (90, totals[page])]], pdf.get_y() + 6)
    return bytes(pdf.output()), paragraphs


def _cells(pdf, rows: list[list[tuple[int, str]]], y: float) -> float:
    """Write each (x, text) cell of each row at height y, 6 apart, each with an invisible space
    below it; the y after the last row."""
    for row in rows:
        for x, text in row:
            pdf.text(x, y, text)
            pdf.text(x, y + 3, " ")
        y += 6
    return y


def prose_with_nuls() -> tuple[bytes, str, str]:
    """A plain-text file of six prose paragraphs with two NUL bytes between the third and the
    fourth; (its bytes, the last sentence before the NULs, the first after them)."""
    paragraphs = [make_prose(f"nul paragraph {i}", 70) for i in range(6)]
    before, after = "\n\n".join(paragraphs[:3]), "\n\n".join(paragraphs[3:])
    raw = before.encode() + b"\n\n\x00\x00" + after.encode()
    return raw, before.rsplit(". ", 1)[-1], after.split(". ", 1)[0] + "."


def encrypt_pdf(raw: bytes, user_password: str, owner_password: str | None = None) -> bytes:
    """The same PDF, AES-256 encrypted with pypdf."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    writer.encrypt(user_password, owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf(pages: int) -> bytes:
    """A PDF whose pages have no text layer (as a scan without OCR)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(title: str, paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    """A Word file (python-docx): a Title paragraph, body paragraphs, then an optional table."""
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write(path, data):
    """Write bytes or UTF-8 text to path, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path
