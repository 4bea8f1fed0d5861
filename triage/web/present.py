"""How stored values read on a page: level names, code labels, London times, time left.

Pages show what a front-door worker says aloud: "Police", "Domestic abuse", "Fri 20 Nov
2026, 08:05", never ``6``, ``domestic_abuse`` or a UTC timestamp. Level names always come from the council's
guidance, so a council that renames a level sees its own name everywhere.
"""

from __future__ import annotations

import math
from datetime import datetime

from flask import Flask, current_app
from jinja2 import Undefined

from triage.engine.guidance_config import URGENCIES
from triage.engine.words import SOURCE_NAMES, count, factor_names, gap_label, percent, words
from triage.engine.workdays import LONDON
from triage.http.current import level_table
from triage.record.audit import EVENT_NAMES
from triage.services.meetings import OUTCOMES as MEETING_OUTCOMES
from triage.services.quality_audit import GRADES
from triage.services.queues import duration_text


def level_name(level: int | None) -> str:
    """The council's name for a level, e.g. "Child in need"; "Not recommended" for none."""
    if level is None:
        return "Not recommended"
    entry = level_table().get(int(level))
    return entry["name"] if entry else f"Level {level}"


def label(value: object) -> str:
    """A contract value as words starting a cell: ``not_sought`` -> "Not sought", None -> "Not known"."""
    text = words(None if isinstance(value, Undefined) else value)
    return text[:1].upper() + text[1:]


def capitalize_first(text: str) -> str:
    """"none given" -> "None given", leaving the rest of the words (and their capitals) alone."""
    return text[:1].upper() + text[1:]


def _chance(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(score, 50.0), -50.0)))


def score_scale_words(chart, explanation: dict | None) -> str:
    """The explanation's scale said in words: which level the score is about, where it starts and ends.

    The model's score for "level k or above" is a log-odds: its chance is 1 / (1 + e^-score). A
    person reads the chance, never "intercept" or "log-odds".
    """
    k = (explanation or {}).get("level_explained")
    if chart is None or chart.intercept is None or chart.total is None or not k:
        return ""
    return (f"These reasons explain the model's estimate that this contact is at {level_name(k).lower()} "
            f"(level {k}) or above. Before anything on this contact is counted, that estimate is "
            f"{percent(_chance(chart.intercept))}; with every reason above it is {percent(_chance(chart.total))}. "
            "Each number shows how far one reason moved the estimate: positive towards the level, "
            "negative away from it, and the bigger the number the bigger the effect.")


def source_name(code: str | None) -> str:
    return SOURCE_NAMES.get(code or "", code or "Not known")


def london(when: datetime | str | None, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A stored UTC time as the front door reads it: London wall-clock time."""
    if when is None:
        return ""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.upper().replace("Z", "+00:00"))
    return when.astimezone(LONDON).strftime(fmt)


def urgency_reasons(contact) -> list[str]:
    """Why a contact has its urgency, in words: colour is never the only signal."""
    rec = contact.recommendation or {}
    if not rec:
        return ["Not yet scored: triage by hand first"]
    reasons = []
    if contact.recommended_level:
        reasons.append(level_name(contact.recommended_level) + " recommended")
    if (contact.payload or {}).get("referrer_request") == "urgent_protection":
        reasons.append("referrer asks for urgent protection")
    if contact.marac_recommended:
        reasons.append("MARAC criteria met")
    if contact.dash_risk == "high":
        reasons.append("DASH high risk")
    return reasons


def urgency_tag(urgency: str | None) -> dict:
    """The GOV.UK tag for an urgency: its text says the colour, so it reads without colour."""
    value = urgency if urgency in URGENCIES else "red"
    return {"text": value.capitalize(), "classes": f"govuk-tag--{value}"}


def children_ages(contact) -> str:
    """"3, 7" or "unborn, 2"; "age not known" where the partner did not say."""
    ages = []
    for child in contact.children:
        if child.unborn:
            ages.append("unborn")
        elif child.age_years is None:
            ages.append("age not known")
        else:
            ages.append(str(child.age_years))
    return ", ".join(ages)


def departure_text(decision) -> dict | None:
    """A decision's departure where it matters: below the guidance floor, or below the recommendation.

    A decision above the recommendation is more protective and needs no flag; one at the level
    recommended needs none either. Returns a GOV.UK tag's text and classes, or None.
    """
    if decision is None:
        return None
    if decision.floor_level and decision.level < decision.floor_level:
        return {"text": "Below the guidance floor", "classes": "govuk-tag--red"}
    if decision.recommended_level and decision.level < decision.recommended_level:
        return {"text": "Below the recommendation", "classes": "govuk-tag--orange"}
    return None


def has_endpoint(name: str) -> bool:
    """Whether a page exists yet, so a link to another team's page appears only once it does."""
    return name in current_app.view_functions


NEXT_STEP_TEXT = {
    "refer": "Refer now",
    "checks": "Ask agencies (checks)",
    "decide": "Decide now",
}


def next_step_text(rec: dict | None) -> str:
    """What the recommendation says to do next, in words (spec section 10)."""
    step = (rec or {}).get("next_step")
    text = NEXT_STEP_TEXT.get(step, "Not scored")
    return text + (" (after checks)" if (rec or {}).get("stage") == "after_checks" else "")


def finding_label(agency: str, code: str) -> str:
    """A finding code in the words config/thresholds.yaml gives it (the code itself if it has gone)."""
    config = current_app.extensions["recommender"].checks_config
    return config.agencies[agency].findings.get(code, code) if agency in config.agencies else code


def page_links(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The page numbers a GOV.UK pagination lists: the first, the last and ``around`` either side of
    ``page``, with None for each gap (an ellipsis). Made from those few numbers, never by walking
    every page (a police force's years of feedback are thousands of pages).
    """
    near = {1, pages, *range(max(1, page - around), min(pages, page + around) + 1)}
    links: list[int | None] = []
    previous = 0
    for n in sorted(near):
        if previous and n - previous > 1:
            links.append(None)
        links.append(n)
        previous = n
    return links


def event_name(kind: str) -> str:
    """A recorded event's plain-English name (``audit.EVENT_NAMES``, the one list of kinds and words)."""
    return EVENT_NAMES.get(kind) or label(kind)


def meeting_outcome(outcome: str | None) -> str:
    """What happened to a contact in the domestic-abuse meeting, in the meeting's own words."""
    return MEETING_OUTCOMES.get(outcome or "", label(outcome))


def audit_grade(grade: str | None) -> str:
    """A quality audit's grade as the auditor chose it ("Requires improvement")."""
    return GRADES.get(grade or "", label(grade))


def init_app(app: Flask) -> None:
    app.add_template_filter(event_name)
    app.add_template_global(meeting_outcome)
    app.add_template_global(audit_grade)
    app.add_template_global(next_step_text)
    app.add_template_global(finding_label)
    app.add_template_global(has_endpoint)
    app.add_template_global(departure_text)
    app.add_template_filter(label)
    app.add_template_filter(factor_names)
    app.add_template_filter(capitalize_first)
    app.add_template_filter(percent)
    app.add_template_filter(count)
    app.add_template_filter(gap_label)
    app.add_template_global(score_scale_words)
    app.add_template_filter(london)
    app.add_template_filter(source_name)
    app.add_template_filter(level_name)
    app.add_template_filter(duration_text, "duration")
    app.add_template_global(urgency_tag)
    app.add_template_global(urgency_reasons)
    app.add_template_global(children_ages)
    app.add_template_global(level_table)
    app.add_template_global(page_links)
