"""The draft rationale: a plain-English paragraph a worker edits into their own decision.

Inspectors found decisions recorded late and "with no clear rationale". A draft that already
cites the guidance met, the DASH and MARAC position, consent and what is missing makes the
worker's recorded reasons specific; the worker still writes the decision. The classifier adds
its own reasons through ``model_reasons``, which keeps this the one place the paragraph is built.
"""

from __future__ import annotations

from collections.abc import Sequence

from triage.engine.guidance import GuidanceResult
from triage.engine.words import gap_label
from triage.engine.workdays import LONDON

MARAC_LABELS = {
    "visible_high_risk": "visible high risk on the DASH count",
    "professional_judgement": "the officer's professional judgement of high risk",
    "potential_escalation": "potential escalation (repeated incidents in the last 12 months)",
    "repeat": "a repeat: MARAC was recommended for a child on this contact in the last 12 months",
}


def _clause(text: str) -> str:
    """An indicator's first sentence, as a clause to follow "because:" (acronyms kept)."""
    head, dot, _ = text.partition(". ")
    head = head.rstrip(".") if dot else text.rstrip(".")
    return head[:1].lower() + head[1:] if head[1:2].islower() else head


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _guidance_sentences(result: GuidanceResult, level_names: dict[int, str]) -> list[str]:
    floor_ids = set(result.floor_indicators)
    cited = [i for i in result.indicators if i["id"] in floor_ids]
    others = [i for i in result.indicators if i["id"] not in floor_ids]
    if not cited:
        out = ["No hard rule in the threshold guidance sets a level for this contact."]
    else:
        out = [f"The threshold guidance sets a floor of level {result.floor_level} "
               f"({level_names[result.floor_level]}) because: "
               + "; ".join(_clause(i["text"]) for i in cited) + "."]
    if others:
        out.append("Also noted: " + "; ".join(_clause(i["text"]) for i in others) + ".")
    return out


def _dash_sentences(result: GuidanceResult) -> list[str]:
    dash, out = result.dash, []
    if dash:
        grading = f", officer graded {dash['officer_grading']}" if dash["officer_grading"] else ""
        out.append(f"DASH: {dash['yes_count']} yes answers{grading}; {dash['risk']} risk.")
    if result.marac["recommended"]:
        reasons = _join([MARAC_LABELS.get(c, c) for c in result.marac["criteria"]])
        out.append(f"A MARAC referral is recommended: {reasons}.")
    return out


def draft_rationale(result: GuidanceResult, *, level: int, level_names: dict[int, str],
                    model_reasons: Sequence[str] = (), recommended: bool = True,
                    check_findings: Sequence[str] = ()) -> str:
    """One paragraph: the level, the guidance behind it, DASH and MARAC, consent, gaps, deadline.

    ``recommended`` is False for the wording offered when a worker chooses another level: it then
    says "A decision at level N", not "Recommended level N", so it never claims what it is not.
    """
    opening = "Recommended level" if recommended else "A decision at level"
    sentences = [f"{opening} {level} ({level_names[level]})."]
    sentences += _guidance_sentences(result, level_names)
    if model_reasons:
        sentences.append("The classifier also weighed: " + "; ".join(model_reasons) + ".")
    if check_findings:
        sentences.append("Agency checks found: " + "; ".join(check_findings) + ".")
    sentences += _dash_sentences(result)
    consent = result.consent_position(level)
    sentences.append(f"Consent: {consent['note']}")
    if result.information_gaps:
        fields = _join(list(dict.fromkeys(gap_label(gap["field"]) for gap in result.information_gaps)))
        sentences.append(f"Missing from the contact: {fields}.")
    due = result.decision_due_at.astimezone(LONDON)
    sentences.append(f"Decision due by {due:%H:%M on %A} {due.day} {due:%B %Y}.")
    return " ".join(sentences)


def drafts_by_level(result: GuidanceResult, *, recommended_level: int, level_names: dict[int, str],
                    model_reasons: Sequence[str] = (), check_findings: Sequence[str] = ()) -> dict[str, str]:
    """The suggested wording for every level a worker may choose, keyed "1".."4".

    The page offers the one for the level chosen, beside the rationale box; the decision rules
    (``triage.services.decisions``) refuse any of them recorded as a person's own reasoning.
    """
    return {
        str(level): draft_rationale(result, level=level, level_names=level_names,
                                    model_reasons=model_reasons if level == recommended_level else (),
                                    recommended=level == recommended_level, check_findings=check_findings)
        for level in sorted(level_names)
    }
