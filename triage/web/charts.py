"""The classifier's explanation as an accessible chart, drawn on the server as SVG.

A worker needs to see at a glance what pushed the score up and what held it down, and a
screen-reader user needs the same facts. So the chart is plain SVG (no script, no external
library, prints well) with ``role="img"``, a ``<title>`` and a ``<desc>`` that says the
largest reasons in words, every bar carries its signed number as text (colour is never the
only signal), and the same numbers come back as ``rows`` for a table beside it.

Plain Python, no Flask: the caller decides where the markup goes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from html import escape

from triage.engine.words import NOT_KNOWN, value_words

WIDTH = 900
LABEL_WIDTH = 340
VALUE_WIDTH = 64
ROW_HEIGHT = 40
TOP = 28
BAR_HEIGHT = 18
LINE_CHARS = 40  # a label wraps onto a second line at about this many characters, never cut short
# GOV.UK palette: red raises the score, blue lowers it; both pass 3:1 against white.
RAISES = "#d4351c"
LOWERS = "#1d70b8"
INK = "#0b0c0c"


@dataclass(frozen=True)
class Row:
    """One reason: what the contact says, and how far it moved the score."""

    label: str
    value: str
    contribution: float

    @property
    def direction(self) -> str:
        return "raises" if self.contribution > 0 else "lowers" if self.contribution < 0 else "no effect"

    @property
    def signed(self) -> str:
        return signed(self.contribution)


@dataclass(frozen=True)
class Chart:
    svg: str
    rows: list[Row] = field(default_factory=list)
    intercept: float | None = None
    total: float | None = None


def signed(number: float) -> str:
    """+0.42 or −0.31 (a real minus sign, which screen readers say as "minus")."""
    text = f"{abs(number):.2f}"
    return f"+{text}" if number > 0 else f"\u2212{text}" if number < 0 else text


def _value(contribution: dict) -> str:
    """The value in words; a missing answer says so, and that it is a question for the checks, not a reason."""
    text = value_words(contribution.get("feature"), contribution.get("value"))
    return f"{text} (a question for the checks, not a reason)" if text == NOT_KNOWN else text


def rows_from(explanation: dict | None, max_rows: int = 12) -> list[Row]:
    """The largest contributions first; the rest summed into one "other" row so nothing is hidden."""
    items = [
        Row(str(c.get("label") or "Unnamed reason"), _value(c), float(c.get("contribution") or 0.0))
        for c in (explanation or {}).get("contributions") or []
    ]
    items.sort(key=lambda row: abs(row.contribution), reverse=True)
    if len(items) <= max_rows:
        return items
    kept, rest = items[: max_rows - 1], items[max_rows - 1:]
    other = Row(f"{len(rest)} other smaller reasons together", "", sum(r.contribution for r in rest))
    return kept + [other]


def label_lines(text: str) -> list[str]:
    """A reason's label on one line, or two when it is long: whole words, nothing cut off."""
    lines = textwrap.wrap(text, LINE_CHARS) or [""]
    return lines if len(lines) <= 2 else [lines[0], " ".join(lines[1:])]


def _description(rows: list[Row], subject: str) -> str:
    ups = [r for r in rows if r.contribution > 0][:3]
    downs = [r for r in rows if r.contribution < 0][:3]
    parts = [f"How each reason moved the score for {subject}."]
    if ups:
        parts.append("Raised most by: " + "; ".join(f"{r.label} ({r.signed})" for r in ups) + ".")
    if downs:
        parts.append("Lowered most by: " + "; ".join(f"{r.label} ({r.signed})" for r in downs) + ".")
    parts.append("The table after the chart lists every reason.")
    return " ".join(parts)


def _bar(row: Row, index: int, zero: float, scale: float) -> str:
    y = TOP + index * ROW_HEIGHT
    length = abs(row.contribution) * scale
    x = zero if row.contribution >= 0 else zero - length
    colour = RAISES if row.contribution > 0 else LOWERS
    text_x = zero + length + 6 if row.contribution >= 0 else zero - length - 6
    anchor = "start" if row.contribution >= 0 else "end"
    mid = y + BAR_HEIGHT / 2 + 5
    lines = label_lines(row.label)
    first = mid - 8 * (len(lines) - 1)
    spans = "".join(f'<tspan x="{LABEL_WIDTH - 10}" y="{first + 16 * i:.1f}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    return (
        f'<text text-anchor="end" font-size="14" fill="{INK}">{spans}</text>'
        f'<rect x="{x:.1f}" y="{y}" width="{max(length, 1):.1f}" height="{BAR_HEIGHT}" fill="{colour}"/>'
        f'<text x="{text_x:.1f}" y="{mid:.1f}" text-anchor="{anchor}" font-size="13" fill="{INK}">'
        f"{escape(row.signed)}</text>"
    )


def explanation_chart(explanation: dict | None, *, subject: str, chart_id: str = "explanation",
                      max_rows: int = 12) -> Chart | None:
    """A horizontal bar per contribution around a zero line; None when there is nothing to draw.

    ``subject`` names what the score is for, e.g. "level 3 (Child in need)".
    """
    rows = rows_from(explanation, max_rows)
    if not rows:
        return None
    biggest = max(abs(r.contribution) for r in rows) or 1.0
    half = (WIDTH - LABEL_WIDTH - 2 * VALUE_WIDTH) / 2
    has_negative = any(r.contribution < 0 for r in rows)
    has_positive = any(r.contribution > 0 for r in rows)
    if has_negative and has_positive:
        zero, scale = LABEL_WIDTH + VALUE_WIDTH + half, half / biggest
    elif has_negative:
        zero, scale = WIDTH - VALUE_WIDTH, (2 * half) / biggest
    else:
        zero, scale = LABEL_WIDTH, (2 * half) / biggest
    height = TOP + len(rows) * ROW_HEIGHT + 10
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    bars = "".join(_bar(row, i, zero, scale) for i, row in enumerate(rows))
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="app-chart" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" font-family="GDS Transport, arial, sans-serif">'
        f'<title id="{title_id}">Reasons behind the score for {escape(subject)}</title>'
        f'<desc id="{desc_id}">{escape(_description(rows, subject))}</desc>'
        f'<text x="{zero:.1f}" y="16" text-anchor="middle" font-size="13" fill="{INK}">'
        f"\u2190 lowers \u00b7 raises \u2192</text>"
        f"{bars}"
        f'<line x1="{zero:.1f}" y1="{TOP - 4}" x2="{zero:.1f}" y2="{height - 6}" stroke="{INK}" stroke-width="2"/>'
        "</svg>"
    )
    intercept = (explanation or {}).get("intercept")
    total = None
    if intercept is not None:
        total = float(intercept) + sum(float(c.get("contribution") or 0.0)
                                       for c in explanation.get("contributions") or [])
    return Chart(svg=svg, rows=rows, intercept=None if intercept is None else float(intercept), total=total)
