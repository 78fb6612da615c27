"""The dashboard's page: its CSS and the HTML pieces, every data string escaped here.

Standard library only. Nothing on the page asks for anything: no script, no font, no
image file; a Content-Security-Policy says so to the browser as well.
"""
from __future__ import annotations

import html
import re
from typing import Iterable, Sequence

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

GRADE_COLOURS = {  # background, text: A dark green to G dark red, readable either way
    "A": ("#1a7f37", "#fff"), "B": ("#4c9f38", "#fff"), "C": ("#a6c93a", "#111"),
    "D": ("#f2d53c", "#111"), "E": ("#f6a03b", "#111"), "F": ("#e5652e", "#fff"), "G": ("#c62828", "#fff"),
}

CSS = """
:root { --ink:#1b1f24; --muted:#57606a; --line:#d0d7de; --card:#f6f8fa; --accent:#0072B2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem clamp(0.75rem, 3vw, 2rem) 3rem; }
header h1 { font-size: clamp(1.35rem, 4vw, 2rem); margin: 0.5rem 0 0.25rem; }
header p { margin: 0.2rem 0; color: var(--muted); }
h2 { font-size: 1.25rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(max(10.5rem, 30%), 1fr)); gap: 0.75rem; align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem 0.9rem; }
.card .label { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.card .value { font-size: 1.45rem; font-weight: 650; margin: 0.15rem 0; overflow-wrap: anywhere; }
.card .note { font-size: 0.82rem; color: var(--muted); }
.tag { display: inline-block; font-size: 0.72rem; padding: 0 0.4rem; border-radius: 999px; border: 1px solid var(--line);
       background: #fff; color: var(--muted); vertical-align: middle; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 0.84rem; }
th, td { padding: 0.35rem 0.45rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0; background: #fff; }
thead th { background: var(--card); font-weight: 600; }
thead th:first-child { background: var(--card); }
td.name { max-width: 16rem; overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.84rem; }
td.text { text-align: left; white-space: normal; min-width: 12rem; }
.grade { display: inline-block; min-width: 1.6rem; text-align: center; font-weight: 700; border-radius: 4px; padding: 0 0.3rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 27rem), 1fr)); gap: 1.25rem 1.5rem; }
.chart { margin: 0.5rem 0 0; min-width: 0; }
.chart svg { display: block; width: 100%; height: auto; }
.chart figcaption { font-size: 0.8rem; color: var(--muted); margin-top: 0.2rem; }
details.run { border: 1px solid var(--line); border-radius: 8px; margin: 0.5rem 0; padding: 0.1rem 0.6rem; }
details.run[open] { padding-bottom: 0.6rem; }
details.run > summary { padding: 0.35rem 0; overflow-wrap: anywhere; }
details.run.failed > summary::after { content: " (has failures)"; color: #c62828; }
.missing { color: var(--muted); font-style: italic; }
.verdicts li, .notes li { margin: 0.2rem 0; }
dl.prov { display: grid; grid-template-columns: minmax(9rem, max-content) 1fr; gap: 0.3rem 1rem; margin: 0.5rem 0; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
details { margin: 0.6rem 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem; overflow-x: auto;
      font-size: 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: 0.82rem; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  main { padding-left: 0.75rem; padding-right: 0.75rem; }
  .card .value { font-size: 1.2rem; }
  dl.prov { grid-template-columns: 1fr; }
  dl.prov dd { margin-bottom: 0.4rem; }
}
@media print { .scroll { overflow: visible; } details { display: block; } }
"""

e = html.escape


def grade_badge(letter: object) -> str:
    text = str(letter) if isinstance(letter, str) else ""
    if text not in GRADE_COLOURS:
        return '<span class="missing">-</span>'
    bg, fg = GRADE_COLOURS[text]
    return f'<span class="grade" style="background:{bg};color:{fg}" title="grade {text}">{text}</span>'


def card(label: str, value: str, note: str = "", tag: str = "") -> str:
    tag_html = f' <span class="tag">{e(tag)}</span>' if tag else ""
    note_html = f'<div class="note">{e(note)}</div>' if note else ""
    return (f'<div class="card"><div class="label">{e(label)}{tag_html}</div>'
            f'<div class="value">{e(value)}</div>{note_html}</div>')


def table(headers: Sequence[str], rows: Iterable[Sequence[str | tuple[str, str]]], caption: str = "") -> str:
    """A table; each cell is HTML already escaped by the caller, or (css class, HTML)."""
    def cell(c: str | tuple[str, str]) -> str:
        return f'<td class="{c[0]}">{c[1]}</td>' if isinstance(c, tuple) else f"<td>{c}</td>"

    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    cap = f'<caption class="missing">{e(caption)}</caption>' if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def bullet_list(items: Iterable[str], cls: str = "notes") -> str:
    items = list(items)
    if not items:
        return ""
    return f'<ul class="{cls}">' + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"


def definitions(pairs: Iterable[tuple[str, str]]) -> str:
    return '<dl class="prov">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in pairs) + "</dl>"


def details(summary: str, body: str, opened: bool = False, failed: bool = False) -> str:
    """A collapsible section: ``summary`` is text (escaped here), ``body`` HTML already escaped."""
    cls = "run failed" if failed else "run"
    return f'<details class="{cls}"{" open" if opened else ""}><summary>{e(summary)}</summary>{body}</details>'


def figure(title: str, svg: str, caption: str) -> str:
    """A chart: its title, the inline SVG (made safe by ``inline_svg``) and its caption as text."""
    label = e(f"{title}. {caption}" if caption else title)
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart" role="img" aria-label="{label}"><h3>{e(title)}</h3>{svg}{cap}</figure>'


def not_drawn(title: str, why: str) -> str:
    return f'<div class="chart"><h3>{e(title)}</h3><p class="missing">Not drawn: {e(why)}</p></div>'


def charts(items: Iterable[str]) -> str:
    """Charts side by side where the screen is wide enough, one above the other on a phone."""
    return f'<div class="charts">{"".join(items)}</div>'


_FORBIDDEN = re.compile(r"<\s*(script|foreignObject|iframe|object|embed|image)\b|\bon[a-z]+\s*=|"
                        r"(?:xlink:)?href\s*=\s*[\"'](?!#)|url\(\s*[\"']?(?!#)", re.IGNORECASE)


def inline_svg(svg: str, prefix: str) -> str | None:
    """A chart's SVG made safe to inline: comments dropped, ids made unique to this chart
    (several charts on one page), and refused (None) if it could run code or fetch anything."""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if ids:
        svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
        svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}"
                     if m.group(2) in ids else m.group(0), svg)
    if _FORBIDDEN.search(svg):
        return None
    return svg


def page(title: str, body: str, generated: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="frugal">
<title>{e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
{body}
<footer>Generated by frugal on {e(generated)}. This page is one self-contained file: it loads nothing and sends nothing.</footer>
</main>
</body>
</html>
"""
