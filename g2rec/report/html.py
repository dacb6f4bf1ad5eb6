"""The report page: plain HTML with inline CSS, figures as relative PNG links, tables of numbers."""

from __future__ import annotations

from html import escape

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1150px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
.meta { color: #555; } .note { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; }
th { background: #f4f4f4; text-align: center; } td:first-child, th:first-child { text-align: left; }
td.text { text-align: left; }
td.text:first-child { white-space: nowrap; } tr.published td { background: #fff6ec; } td.best { font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
"""

METRICS = ("recall@5", "ndcg@5", "recall@10", "ndcg@10", "recall@20", "ndcg@20", "mrr")


def _label(metric: str) -> str:
    return metric.replace("recall", "Recall").replace("ndcg", "NDCG").replace("mrr", "MRR").replace("_", " ")


def _cell(value, css: str = "") -> str:
    text = f"{value:.4f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else escape(str(value))
    return f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>"


def table(headers: list[str], rows: list[list], text_columns: int = 1, row_classes: list[str] | None = None) -> str:
    """An HTML table; the first ``text_columns`` columns and all strings are left-aligned text."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(_cell(v, "text" if j < text_columns or isinstance(v, str) else "") for j, v in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def results_table(rows: list[tuple[str, str, dict]], extra: tuple[str, ...] = ()) -> str:
    """Models (``(name, kind, metrics)``) by metric, the best value of each column in bold;
    rows of kind ``published`` shaded."""
    columns = [m for m in (*METRICS, *extra) if any(m in r[2] for r in rows)]
    ours = [r for r in rows if r[1] != "published"]
    best = {m: max((r[2][m] for r in ours if isinstance(r[2].get(m), float)), default=None) for m in columns}
    head = "".join(f"<th>{escape(h)}</th>" for h in ["model", "kind", *map(_label, columns), "users"])
    body = []
    for name, kind, metrics in rows:
        cells = [_cell(name, "text"), _cell(kind, "text")]
        for m in columns:
            value = metrics.get(m)
            cells.append(_cell("" if value is None else value, "best" if value is not None and value == best[m]
                               and kind != "published" and m != "hallucination_rate" else ""))
        cells.append(_cell(metrics.get("num_users", "")))
        cls = ' class="published"' if kind == "published" else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(src: str, caption: str, alt: str) -> str:
    return (f'<figure><img src="{escape(src)}" alt="{escape(alt)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{css}">{escape(text)}</p>' if css else f"<p>{escape(text)}</p>"


def bullet_list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def page(title: str, meta: list[str], sections: list[tuple[str, str]]) -> str:
    """The whole document: ``sections`` are ``(heading, inner HTML)``."""
    body = "".join(f'<section id="{escape(_anchor(h))}"><h2>{escape(h)}</h2>{inner}</section>' for h, inner in sections)
    toc = " · ".join(f'<a href="#{escape(_anchor(h))}">{escape(h)}</a>' for h, _ in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
            + "".join(f'<div class="meta">{escape(m)}</div>' for m in meta)
            + f"<p>{toc}</p>{body}</body></html>\n")


def _anchor(heading: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in heading.lower()).split())
