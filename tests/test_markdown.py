"""The one Markdown-to-HTML renderer used by every report (fit reports, the demo report)."""

from devicelab.markdown import markdown_to_html, write_markdown_report


def test_text_is_escaped_everywhere():
    html = markdown_to_html("# T <x>\n\n| a | b |\n|---|---|\n| <1> | 2 |\n\npara <b>\n\n```\n<raw>\n```\n", "<t>")
    assert "<title>&lt;t&gt;</title>" in html
    assert "&lt;x&gt;" in html and "<td>&lt;1&gt;</td>" in html and "para &lt;b&gt;" in html
    assert "<pre>&lt;raw&gt;</pre>" in html
    assert "<b>" not in html and "<raw>" not in html


def test_table_header_row_and_rule_line():
    html = markdown_to_html("| stage | time (s) |\n|---|---|\n| fit | 1.0 |\n", "t")
    assert "<tr><th>stage</th><th>time (s)</th></tr>" in html
    assert "<tr><td>fit</td><td>1.0</td></tr>" in html
    assert "---" not in html


def test_fenced_code_keeps_lines_and_markup_characters():
    html = markdown_to_html("text\n```\n| not | a table |\n# not a heading\n```\n", "t")
    assert "<pre>| not | a table |\n# not a heading</pre>" in html
    assert "<table" not in html and "<h1>" not in html


def test_headings_images_and_inline_spans():
    html = markdown_to_html("## Fit\n\n![drift plot](drift.png)\n\nwrote `model.h5` with **3** parts\n", "t")
    assert "<h2>Fit</h2>" in html
    assert "<img src='drift.png' alt='drift plot'" in html
    assert "wrote <code>model.h5</code> with <strong>3</strong> parts" in html


def test_paragraph_ends_at_table_and_table_at_text():
    html = markdown_to_html("before\n| a |\n|---|\n| 1 |\nafter\n", "t")
    assert html.index("<p>before</p>") < html.index("<table") < html.index("<p>after</p>")


def test_write_markdown_report_writes_both_files(tmp_path):
    md = write_markdown_report(tmp_path / "out" / "report.md", "# R\n\nbody\n", "R")
    assert md == tmp_path / "out" / "report.md" and md.read_text() == "# R\n\nbody\n"
    assert "<h1>R</h1>" in (tmp_path / "out" / "report.html").read_text()
    assert sorted(p.name for p in md.parent.iterdir()) == ["report.html", "report.md"]
