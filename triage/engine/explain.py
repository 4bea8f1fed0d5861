"""Explanations a practitioner can check: reasons that add up, and what would change the level.

The model's score for "level k or above" is an intercept plus the weights of the contact's active
0/1 columns (``triage.features``). Grouping those weights by the contact field each column came
from gives one contribution per field, with a plain-English label and the value read off the
contact; intercept + sum(contributions) is the score exactly (spec section 2).

"What would change this" tries one field at a time, one step at a time (a "not known" answered, a
yes/no flipped, a count one higher or lower) and reports, in each direction, the change that moves
the recommendation a level with the least movement of the score. The guidance floor is held as it
is: a change that removes a guidance indicator may lower the floor as well, which the guidance
engine, not the model, decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from triage.engine import features as F
from triage.engine.classifier import SCALE, OrdinalModel, Scored
from triage.engine.contract import GRADINGS
from triage.engine.history import UNKNOWN, KnownHistory
from triage.engine.words import NOT_KNOWN, value_words, words

_LABELS = {f.name: f.label for f in F.FIELDS}
TRI_VALUES = ("yes", "no", "not known")
# Fields whose value a referrer could supply or correct; structural fields (who sent it, the
# concern, the children's ages) and derived ones (interactions, the floor) are not "changes".
_TRI_FIELDS = tuple(f"children.{k}" for k, _ in F.CHILD_RISKS) + tuple(f"domestic_abuse.{k}" for k, _ in F.DA_RISKS)
_COUNT_FIELDS = ("children.previous_referrals_12m", "domestic_abuse.incidents_12m")
#: The default evidence cut-off; the service passes the one in config/thresholds.yaml (checks.next_step).
EVIDENCE = 0.5


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: Any
    new: Any
    new_level: int
    shift: float


def level_explained(level: int) -> int:
    """The ordinal score that explains a level: "level >= L", and "level >= 2" for level 1."""
    return max(level, 2)


def explanation(model: OrdinalModel, values: dict[str, Any], active: list[int], level: int,
                feature_set: F.FeatureSet | None = None) -> dict:
    """The spec's ``explanation`` object for the recommended ``level``.

    ``feature_set`` is the model's column layout when it is not features-v1 (the two-stage
    pipeline's screening-v2 and after-checks-v2): the same decomposition, their fields and labels.
    """
    columns = feature_set.columns if feature_set is not None else F.COLUMNS
    labels = feature_set.labels if feature_set is not None else _LABELS
    k = level_explained(level)
    weights = model.weights[k - 2]
    per_field: dict[str, float] = {}
    for col in active:
        name = columns[col].field
        per_field[name] = per_field.get(name, 0.0) + float(weights[col])
    contributions = [
        {"feature": name, "label": labels[name], "value": _jsonable(values.get(name)), "contribution": c}
        for name, c in per_field.items() if c != 0.0
    ]
    contributions.sort(key=lambda item: -abs(item["contribution"]))
    intercept = float(model.intercepts[k - 2])
    return {"contributions": contributions, "intercept": intercept,
            "score": intercept + sum(c["contribution"] for c in contributions),
            "level_explained": k, "scale": f"log-odds that the threshold level is {k} or above",
            "scale_rule": SCALE}


def main_reasons(expl: dict, n: int = 3) -> tuple[str, ...]:
    """The few largest positive contributions in words, for the rationale draft.

    A "not known" answer can carry weight (missing information is itself a risk the model learnt),
    but it is not a reason a practitioner can cite; it shows in the explanation and the gaps instead.
    """
    out = []
    for c in expl["contributions"]:
        if c["feature"].startswith("checks."):
            continue  # what agencies found is cited by the rationale in their own words
        if c["contribution"] > 0 and c["value"] not in (None, NOT_KNOWN, F.NOT_GIVEN) and len(out) < n:
            out.append(f"{c['label']} ({value_words(c['feature'], c['value'])})")
    return tuple(out)


def _candidates(values: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name in _TRI_FIELDS:
        out += [(name, v) for v in TRI_VALUES if v != values[name]]
    for name in _COUNT_FIELDS:
        cur = values[name]
        steps = (0, 1) if cur is None else (cur + 1, cur - 1)
        out += [(name, s) for s in steps if s is not None and s >= 0 and s != cur]
    yes = values["domestic_abuse.dash"]
    if yes is not None:
        out += [("domestic_abuse.dash", y) for y in (yes + 1, yes - 1) if 0 <= y <= 27]
    grading = values["domestic_abuse.dash.officer_grading"]
    if values["domestic_abuse.dash"] is not None:
        out += [("domestic_abuse.dash.officer_grading", g) for g in GRADINGS if g != grading]
    return out


def what_would_change(model: OrdinalModel, values: dict[str, Any], active: list[int], scored: Scored,
                      floor_level: int, level_names: dict[int, str] | None = None,
                      evidence: float = EVIDENCE, cuts: list[float] | None = None) -> list[dict]:
    """The smallest single-field change that raises, and the one that lowers, the recommendation.

    Measured against the evidence cut-off (the level the evidence supports), as the level is; or,
    when ``cuts`` (log-odds, one per "level >= k") are given, against the model's own rule as
    ``OrdinalModel.score`` applies it (the two-stage pipeline's stages).
    """
    if cuts is None:
        cut = math.log(evidence / (1.0 - evidence))
        cuts = [cut, cut, cut]
        level_at = _level_at
    else:
        level_at = level_by_rule
    level = max(level_at(scored.logits, cuts), floor_level, 1)
    columns = model.column_weights
    best: dict[str, Change] = {}
    for name, new in _candidates(values):
        trial = dict(values)
        trial[name] = new
        F.recompute_interactions(trial)
        delta = [0.0, 0.0, 0.0]
        for fld in (name, *F.INTERACTION_FIELDS):
            if fld != name and trial[fld] == values[fld]:
                continue
            for col in F.field_columns(trial, fld):
                for i, w in enumerate(columns[col]):
                    delta[i] += w
            for col in F.field_columns(values, fld):
                for i, w in enumerate(columns[col]):
                    delta[i] -= w
        if not any(delta):
            continue
        trial_logits = [scored.logits[i] + delta[i] for i in range(3)]
        new_level = max(level_at(trial_logits, cuts), floor_level, 1)
        if new_level == level:
            continue
        direction = "raise" if new_level > level else "lower"
        shift = max(abs(d) for d in delta)
        if direction not in best or shift < best[direction].shift:
            best[direction] = Change(name, _LABELS[name], values[name], new, new_level, shift)
    return [_statement(best[d], level_names) for d in ("raise", "lower") if d in best]


def _level_at(logits, cuts: list[float]) -> int:
    """The highest k whose score for "level >= k", and every lower one, reaches its cut (1 when none does).

    Stopping at the first miss matches the probabilities, which make P(level >= k) non-increasing.
    """
    level = 1
    for i in range(3):
        if logits[i] < cuts[i]:
            break
        level = i + 2
    return level


def level_by_rule(logits, cuts: list[float]) -> int:
    """The highest k whose score for "level >= k" reaches its cut (1 when none does): ``OrdinalModel.score``."""
    level = 1
    for i in range(3):
        if logits[i] >= cuts[i]:
            level = i + 2
    return level


def _statement(change: Change, level_names: dict[int, str] | None) -> dict:
    name = (level_names or {}).get(change.new_level)
    target = f"level {change.new_level}" + (f" ({name})" if name else "")
    text = (f"If '{change.label}' were {words(change.new)} instead of {words(change.old)}, "
            f"the recommendation would be {target}.")
    return {"field": change.field, "label": change.label, "from": _jsonable(change.old),
            "to": _jsonable(change.new), "new_level": change.new_level, "statement": text}


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def evidence_level(probabilities: dict[str, float], floor_level: int, evidence: float = EVIDENCE) -> int:
    """The level the evidence supports: the highest k with P(level >= k) >= ``evidence``, never below the floor.

    Not the classifier's own decision rule, whose low safety cut-offs recommended child protection
    for contacts it gave a few per cent: uncertainty is answered by checks (``screening``), not by
    a higher level.
    """
    level = 1
    for k in (2, 3, 4):
        if sum(probabilities[str(j)] for j in range(k, 5)) >= evidence:
            level = k
    return max(level, floor_level, 1)


def score_and_explain(model: OrdinalModel, contact: dict, *, floor_level: int, history: KnownHistory = UNKNOWN,
                      level_names: dict[int, str] | None = None, evidence: float = EVIDENCE) -> dict:
    """Everything the recommendation needs from the model for one contact, in one pass.

    Returns ``level`` (the level the evidence supports, never below the guidance floor),
    ``model_level`` (the classifier's safety-cut-off rule, kept for the record), ``probabilities``,
    ``explanation``, ``what_would_change`` and ``reasons`` (for the rationale).
    """
    values = F.summarise(contact, floor_level=floor_level, history=history)
    active = F.active_columns(values)
    scored = model.score(active)
    level = evidence_level(scored.probabilities, floor_level, evidence)
    expl = explanation(model, values, active, level)
    return {"level": level, "model_level": scored.model_level, "probabilities": scored.probabilities,
            "explanation": expl, "reasons": main_reasons(expl),
            "what_would_change": what_would_change(model, values, active, scored, floor_level, level_names,
                                                   evidence)}


def explanation_for(model: OrdinalModel, contact: dict, floor_level: int, history: KnownHistory, level: int) -> dict:
    """The explanation object for a given ``level`` (after checks moved it from the screening one)."""
    values = F.summarise(contact, floor_level=floor_level, history=history)
    return explanation(model, values, F.active_columns(values), level)
