"""Report files: the Markdown the stages write and its HTML rendering (one renderer for every report).

Reports (the fit report folder, the demo report) are Markdown text using a small subset: ``#`` headings,
paragraphs, pipe tables, fenced code blocks, images on their own line, inline ```code``` and ``**bold**``.
:func:`markdown_to_html` renders exactly that subset as a standalone HTML page, so a report can be read in a
browser without a Markdown tool; :func:`write_markdown_report` writes both files atomically.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from devicelab.files import atomic_output

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|?$")
_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    """Escape ``text`` and render inline code and bold spans."""
    parts, pos = [], 0
    for m in _INLINE.finditer(text):
        parts.append(html.escape(text[pos:m.start()]))
        parts.append(f"<code>{html.escape(m.group(1))}</code>" if m.group(1) is not None
                     else f"<strong>{html.escape(m.group(2))}</strong>")
        pos = m.end()
    parts.append(html.escape(text[pos:]))
    return "".join(parts)


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def markdown_to_html(text: str, title: str) -> str:
    """Render report Markdown as a standalone HTML page.

    Parameters
    ----------
    text : str
        Markdown using the report subset (headings, paragraphs, pipe tables, fenced code blocks, images on
        their own line, inline code and bold). Anything else is shown as escaped paragraph text.
    title : str
        Page title (the ``<title>`` element).

    Returns
    -------
    str
        The HTML document; all text is HTML-escaped, so report content can never inject markup.
    """
    out = [f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"]
    paragraph: list[str] = []
    table: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if paragraph:
            out.append("<p>" + "<br>\n".join(_inline(line.strip()) for line in paragraph) + "</p>")
            paragraph.clear()
        if table:
            out.append("<table border='1' cellspacing='0' cellpadding='3'>")
            for k, row in enumerate(table):
                tag = "th" if k == 0 else "td"
                out.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in _cells(row)) + "</tr>")
            out.append("</table>")
            table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if code is not None:
            if stripped.startswith("```"):
                out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
                code = None
            else:
                code.append(line)
            continue
        if stripped.startswith("```"):
            flush()
            code = []
        elif stripped.startswith("|"):
            if paragraph:
                flush()
            if not (table and _TABLE_RULE.match(stripped)):
                table.append(stripped)
        elif m := _HEADING.match(stripped):
            flush()
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif m := _IMAGE.match(stripped):
            flush()
            out.append(f"<p><img src='{html.escape(m.group(2))}' alt='{html.escape(m.group(1))}' width='640'></p>")
        elif stripped:
            if table:
                flush()
            paragraph.append(line)
        else:
            flush()
    if code is not None:  # unterminated fence: show what there is
        out.append("<pre>" + html.escape("\n".join(code)) + "</pre>")
    flush()
    out.append("</body></html>")
    return "\n".join(out)


def write_markdown_report(path: str | os.PathLike, text: str, title: str) -> Path:
    """Write ``text`` to ``path`` (Markdown) and its rendering next to it (same name, ``.html``), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The Markdown file to write, e.g. ``folder/report.md``; the HTML file is ``folder/report.html``.
    text : str
        Report Markdown (see :func:`markdown_to_html` for the subset rendered).
    title : str
        Title of the HTML page.

    Returns
    -------
    pathlib.Path
        The Markdown path.
    """
    md = Path(path)
    with atomic_output(md, suffix=".md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    with atomic_output(md.with_suffix(".html"), suffix=".html") as tmp:
        tmp.write_text(markdown_to_html(text, title), encoding="utf-8")
    return md
