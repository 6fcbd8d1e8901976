import pytest

from ragft.ingest.formats import (
    Reject,
    docx_text,
    drop_running_lines,
    html_text,
    pdf_pages,
)

from .docgen import (
    ORCHARD_PAGES,
    blank_pdf,
    encrypt_pdf,
    make_docx,
    make_pdf,
    make_prose,
)


def test_html_text_keeps_main_content_only():
    title, text = html_text(
        "<html><head><title>Storage  guide</title><style>p{color:red}</style></head><body>"
        "<nav>Home | About</nav><div role='navigation'>Menu</div><header>Site banner</header>"
        "<article><header><h1>Cold rooms</h1></header><p>Keep apples at <b>one</b> degree.</p>"
        "<table><tr><td>Amber</td><td>1 C</td></tr></table><p>Line<br>break</p></article>"
        "<aside>Related posts</aside><footer>Copyright</footer><script>track()</script></body></html>"
    )
    assert title == "Storage  guide"
    assert text.split() == "Cold rooms Keep apples at one degree. Amber 1 C Line break".split()
    assert "Keep apples at one degree.\n" in text and "Line\nbreak" in text


def test_html_text_falls_back_to_body_and_h1():
    assert html_text("<body><h1>Heading</h1><p>Body text</p></body>") == ("Heading", "Heading\nBody text\n")
    assert html_text("<script>only()</script>") == ("", "")


def test_pdf_pages_reads_the_text_layer():
    pages = pdf_pages(make_pdf(ORCHARD_PAGES, header="Running head"))
    assert pages[1] == "Running head\n" + "\n".join(ORCHARD_PAGES[1])
    assert len(pages) == 3


def test_pdf_pages_opens_a_pdf_with_an_owner_password_only():
    assert pdf_pages(encrypt_pdf(make_pdf(ORCHARD_PAGES), "", owner_password="owner"))[0] == "\n".join(ORCHARD_PAGES[0])


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        (b"not a pdf at all", "parse_error", "not a readable PDF: PdfStreamError: Stream has ended unexpectedly"),
        (encrypt_pdf(make_pdf(ORCHARD_PAGES), "pw"), "encrypted", "the PDF needs a password to open; decrypt it first (e.g. qpdf --decrypt)"),
    ],
)
def test_pdf_pages_rejects(raw, reason, detail):
    with pytest.raises(Reject) as err:
        pdf_pages(raw)
    assert (err.value.reason, err.value.detail) == (reason, detail)


def test_blank_pdf_has_empty_pages():
    assert pdf_pages(blank_pdf(3)) == ["", "", ""]


def test_drop_running_lines_removes_recurring_edges_only():
    bodies = [make_prose(f"page {i}", 40).replace(". ", ".\n") for i in range(1, 5)]
    pages = [f"Annual Report\n{body}\nAnnual Report\n{body}\nPage {i} of 4" for i, body in enumerate(bodies, 1)]
    kept, removed = drop_running_lines(pages)
    assert kept == [f"{body}\nAnnual Report\n{body}" for body in bodies]  # mid-page mention stays
    assert removed == 8
    assert drop_running_lines(pages[:2]) == (pages[:2], 0)  # too few pages to tell
    varied = [f"Chapter {c}\n{make_prose(c)}" for c in "ABCD"]  # letters are not digit-blind
    assert drop_running_lines(varied) == (varied, 0)


@pytest.mark.parametrize(
    "footers",
    [
        [f"Acme Corp 2018 Form 10-K | Page {n}" for n in range(1, 9)],
        [f"- {n} -" for n in range(3, 11)],  # numbered from the third sheet
        [f"F-{n}" for n in range(1, 9)],
        ["1", "2", "3", "4", "5", "1", "2", "3"],  # numbering restarts in a three-page appendix
    ],
    ids=["letters-and-page-number", "dashed-page-number", "lettered-page-number", "restarting-page-number"],
)
@pytest.mark.parametrize(
    "amounts",
    [
        ["1,234", "5,678", "9,012", "3,456", "7,890", "2,345", "6,789", "4,321"],
        ["(370)", "(415)", "(128)", "(906)", "(551)", "(273)", "(684)", "(349)"],
        ["51", "197", "58", "133", "2014", "2017", "12", "9"],  # table cells at 3M's 2018 10-K page ends
        ["12.5%", "3.1%", "40.2%", "7.7%", "18.0%", "9.4%", "21.6%", "5.3%"],
    ],
    ids=["thousands", "negatives", "integers", "percents"],
)
def test_drop_running_lines_keeps_amounts_of_one_shape_above_the_footer(amounts, footers):
    bodies = [make_prose(f"page {i}", 40).replace(". ", ".\n") for i in range(8)]
    pages = [f"{body}\n{amount}\n{footer}" for body, amount, footer in zip(bodies, amounts, footers)]
    assert drop_running_lines(pages) == ([f"{body}\n{amount}" for body, amount in zip(bodies, amounts)], 8)


def test_drop_running_lines_drops_a_number_without_letters_only_when_its_text_recurs():
    bodies = [make_prose(f"page {i}", 40).replace(". ", ".\n") for i in range(4)]
    pages = [f"2018\n{body}\n{n}" for body, n in zip(bodies, ["3", "5", "4", "2"])]
    assert drop_running_lines(pages) == ([f"{body}\n{n}" for body, n in zip(bodies, ["3", "5", "4", "2"])], 4)


def test_docx_text_reads_paragraphs_and_tables_in_order():
    raw = make_docx("Spring memo", ["First paragraph.", "Second."], [["Variety", "Yield"], ["Amber", "12 t"]])
    assert docx_text(raw) == ("Spring memo", "Spring memo\nFirst paragraph.\nSecond.\nVariety | Yield\nAmber | 12 t")
    with pytest.raises(Reject) as err:
        docx_text(b"PK\x03\x04" + bytes(64))
    assert err.value.reason == "parse_error" and err.value.detail.startswith("not a readable .docx: ")
