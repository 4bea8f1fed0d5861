"""The one feature encoding, shared by training and serving.

Every column is a 0/1 indicator that belongs to exactly one contact *field*, so a linear score
splits exactly into one contribution per field (spec section 2): the explanation sums the weights
of the active columns of each field. A contact is encoded as the sorted list of its active column
indices, which is both the fast single-contact path (a few dozen additions) and, stacked into a
sparse matrix, the training matrix. There is no second implementation anywhere.

Ethnicity, sex and disability are never read here: they are kept only for the fairness audit.

Monotonicity in risk is built into the encoding plus sign bounds the trainer enforces:

* a yes/no/not-known risk item (injury, disclosure, strangulation, weapon, ...) has two columns,
  ``not_no`` (yes or not known, weight >= 0) and ``unknown`` (weight <= 0). "no"->"yes" adds the
  first weight, "not known"->"yes" removes the second: neither can lower the score;
* counts (DASH "yes" answers, previous incidents, previous referrals) are thermometers (">= k"
  columns, weights >= 0), with the same not-known pair when the count may be missing;
* the guidance floor, the listed risk factors and the named interactions are >= 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from triage.engine.contract import (
    CHILD_STATUSES,
    CONSENT,
    FACTOR_CODES,
    PRIMARY_CONCERNS,
    REFERRER_REQUESTS,
)
from triage.engine.history import UNKNOWN, KnownHistory

FEATURE_SET_VERSION = "features-v1"

SOURCE_FAMILIES = {"6": "police", "2A": "school", "2B": "school", "4": "housing", "7": "legal agency",
                   "8": "other", "9": "anonymous", "10": "unknown"}
SOURCE_FAMILIES.update({c: "health" for c in ("3A", "3B", "3C", "3D", "3E", "3F")})
SOURCE_FAMILIES.update({c: "individual" for c in ("1A", "1B", "1C", "1D")})
SOURCE_FAMILIES.update({c: "local authority service" for c in ("5A", "5B", "5C", "5D")})
# The contract's code lists, in the contract's order (the column order, and so the model file,
# depends on it): one source, ``triage.engine.contract``; tests/test_features.py ties both to
# contact-v1.schema.json. "not given" is the column for an optional field left out.
NOT_GIVEN = "not given"
CONCERNS = PRIMARY_CONCERNS
FACTORS = FACTOR_CODES
AGE_BANDS = ("unborn", "under 1", "1-4", "5-9", "10-15", "16-17", "not known")
STATUSES = (*CHILD_STATUSES, NOT_GIVEN)
CONSENTS = CONSENT
REQUESTS = (*REFERRER_REQUESTS, NOT_GIVEN)
DASH_YES_CUTS = (1, 3, 5, 7, 10, 14)
INCIDENT_CUTS = (1, 2, 3, 5, 10)
REFERRAL_CUTS = (1, 2, 3, 5)
DA_RISKS = (("weapon_used", "A weapon was used"), ("strangulation", "Strangulation or choking"),
            ("victim_pregnant", "The victim is pregnant"),
            ("perpetrator_in_household", "The perpetrator lives in the household"),
            ("coercive_control", "Coercive or controlling behaviour"),
            ("perpetrator_substance_misuse", "The perpetrator misuses drugs or alcohol"))
CHILD_RISKS = (("present_at_incident", "A child was present at the incident"),
               ("injured", "A child was injured"),
               ("disclosed_harm", "A child has said they were harmed"))
# Sign bounds the trainer enforces: +1 weight >= 0, -1 weight <= 0, 0 free.
POS, NEG, FREE = 1, -1, 0


@dataclass(frozen=True)
class Column:
    """One 0/1 input column: its name, the contact field it explains, and its sign bound."""

    name: str
    field: str
    sign: int


@dataclass(frozen=True)
class Field:
    """A contact field as a practitioner reads it; the unit of an explanation."""

    name: str
    label: str
    columns: tuple[int, ...] = ()


@dataclass
class _Schema:
    columns: list[Column] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, fld: str, label: str, name: str, sign: int = FREE) -> None:
        self.labels.setdefault(fld, label)
        self.index[name] = len(self.columns)
        self.columns.append(Column(name, fld, sign))


def _build_schema() -> _Schema:
    s = _Schema()
    for fam in sorted(set(SOURCE_FAMILIES.values())):
        s.add("source.code", "Who made the contact", f"source={fam}")
    for c in CONCERNS:
        s.add("primary_concern", "The main concern", f"concern={c}")
    for f in FACTORS:
        s.add("factors", "Further concerns (census factors)", f"factor={f}", FREE if f == "21" else POS)
    for band in AGE_BANDS:
        s.add("children.age_years", "Age of the youngest child", f"youngest={band}")
    for n in ("1", "2", "3+"):
        s.add("children", "Number of children", f"children={n}")
    for key, label in CHILD_RISKS:
        s.add(f"children.{key}", label, f"{key}:not_no", POS)
        s.add(f"children.{key}", label, f"{key}:unknown", NEG)
    for st in STATUSES:
        s.add("children.current_status", "Involvement with children's services now", f"status={st}")
    _thermometer(s, "children.previous_referrals_12m", "Referrals in the last 12 months", "referrals",
                 REFERRAL_CUTS)
    s.add("domestic_abuse.dash", "DASH risk checklist", "dash=absent_in_da")
    for k in DASH_YES_CUTS:
        s.add("domestic_abuse.dash", "DASH risk checklist", f"dash_yes>={k}", POS)
    s.add("domestic_abuse.dash.officer_grading", "Police officer's DASH grading", "grading=given")
    s.add("domestic_abuse.dash.officer_grading", "Police officer's DASH grading", "grading>=medium", POS)
    s.add("domestic_abuse.dash.officer_grading", "Police officer's DASH grading", "grading=high", POS)
    _thermometer(s, "domestic_abuse.incidents_12m", "Domestic abuse incidents in the last 12 months",
                 "incidents", INCIDENT_CUTS)
    for key, label in DA_RISKS:
        s.add(f"domestic_abuse.{key}", label, f"{key}:not_no", POS)
        s.add(f"domestic_abuse.{key}", label, f"{key}:unknown", NEG)
    s.add("domestic_abuse.arrest_made", "An arrest was made", "arrest=yes")
    s.add("domestic_abuse.arrest_made", "An arrest was made", "arrest=not_known")
    for c in CONSENTS:
        s.add("consent", "Consent to share", f"consent={c}")
    for r in REQUESTS:
        s.add("referrer_request", "What the referrer asked for", f"request={r}")
    s.add("interaction.da_child_present", "Domestic abuse with a child present", "da_x_child_present", POS)
    s.add("interaction.high_risk_child_present", "High-risk domestic abuse with a child present",
          "dash_high_x_child_present", POS)
    s.add("interaction.baby_injured", "A baby (under 1 or unborn) injured", "infant_x_injured", POS)
    for k in (2, 3, 4):
        s.add("guidance_floor", "The threshold guidance's hard rules (floor level)", f"floor>={k}", POS)
    s.add("prior_marac_12m", "A MARAC case for this household in the last 12 months", "prior_marac", POS)
    return s


def _thermometer(s: _Schema, fld: str, label: str, stem: str, cuts: Sequence[int]) -> None:
    s.add(fld, label, f"{stem}:not_zero", POS)
    s.add(fld, label, f"{stem}:unknown", NEG)
    for k in cuts[1:]:
        s.add(fld, label, f"{stem}>={k}", POS)


_SCHEMA = _build_schema()
COLUMNS: tuple[Column, ...] = tuple(_SCHEMA.columns)
FEATURE_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
N_FEATURES = len(COLUMNS)
_IX = _SCHEMA.index


def _fields() -> tuple[Field, ...]:
    order: dict[str, list[int]] = {}
    for i, col in enumerate(COLUMNS):
        order.setdefault(col.field, []).append(i)
    return tuple(Field(name, _SCHEMA.labels[name], tuple(ix)) for name, ix in order.items())


FIELDS: tuple[Field, ...] = _fields()
COLUMN_FIELD = np.array([next(j for j, f in enumerate(FIELDS) if f.name == c.field) for c in COLUMNS])
SIGNS = np.array([c.sign for c in COLUMNS], dtype=np.int8)
EXCLUDED_FROM_FEATURES = ("children.ethnicity", "children.sex", "children.disabled")


def _tri(values: Iterable[Any]) -> str:
    """Combine one yes/no/not-known item over the children: any yes, else any unknown, else no."""
    seen_unknown = False
    seen = False
    for v in values:
        seen = True
        if v is True:
            return "yes"
        if v is not False:
            seen_unknown = True
    return "not known" if seen_unknown or not seen else "no"


def _age_band(children: list[dict]) -> str:
    if any(c.get("unborn") for c in children):
        return "unborn"
    ages = [c["age_years"] for c in children if c.get("age_years") is not None]
    if not ages:
        return "not known"
    y = min(ages)
    return "under 1" if y < 1 else "1-4" if y < 5 else "5-9" if y < 10 else "10-15" if y < 16 else "16-17"


def _max_count(values: Iterable[Any]) -> int | None:
    known = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return max(known) if known else None


_STATUS_RANK = {s: i for i, s in enumerate(("unknown", "none", "early_help", "child_in_need",
                                            "child_protection", "looked_after"))}


def summarise(contact: dict, *, floor_level: int = 0, history: KnownHistory = UNKNOWN) -> dict[str, Any]:
    """The value of every explained field, as a practitioner would read it off the contact.

    ``history`` is the store's own record of these children (``engine.history``); the bundled
    model's columns read only its ``marac_12m`` (as ``prior_marac_12m``).
    """
    children = contact.get("children") or []
    da = contact.get("domestic_abuse") or {}
    dash = da.get("dash") or {}
    answers = dash.get("answers") or {}
    statuses = [c["current_status"] for c in children if c.get("current_status")]
    v: dict[str, Any] = {
        "source.code": SOURCE_FAMILIES.get(contact.get("source", {}).get("code", "10"), "unknown"),
        "primary_concern": contact.get("primary_concern", "other"),
        "factors": sorted(set(contact.get("factors") or [])),
        "children.age_years": _age_band(children),
        "children": len(children),
        "children.current_status": max(statuses, key=_STATUS_RANK.__getitem__) if statuses else NOT_GIVEN,
        "children.previous_referrals_12m": _max_count(c.get("previous_referrals_12m") for c in children),
        "domestic_abuse.dash": (sum(1 for a in answers.values() if a == "yes") if dash else None),
        "domestic_abuse.dash.officer_grading": dash.get("officer_grading"),
        "domestic_abuse.incidents_12m": da.get("incidents_12m"),
        "domestic_abuse.arrest_made": {True: "yes", False: "no"}.get(da.get("arrest_made"), "not known"),
        "consent": contact.get("consent"),
        "referrer_request": contact.get("referrer_request") or NOT_GIVEN,
        "guidance_floor": int(floor_level),
        "prior_marac_12m": bool(history.marac_12m),
    }
    for key, _ in CHILD_RISKS:
        v[f"children.{key}"] = _tri(c.get(key) for c in children)
    for key, _ in DA_RISKS:
        v[f"domestic_abuse.{key}"] = _tri([da.get(key)])
    recompute_interactions(v)
    return v




def recompute_interactions(v: dict[str, Any]) -> None:
    """The named interaction fields, recomputed from the fields they combine."""
    child_present = v["children.present_at_incident"] == "yes"
    high = (v["domestic_abuse.dash"] or 0) >= 14 or v["domestic_abuse.dash.officer_grading"] == "high"
    v["interaction.da_child_present"] = v["primary_concern"] == "domestic_abuse" and child_present
    v["interaction.high_risk_child_present"] = high and child_present
    v["interaction.baby_injured"] = (v["children.age_years"] in ("unborn", "under 1")
                                     and v["children.injured"] == "yes")


def _enc_dash(v: dict[str, Any], out: list[int]) -> None:
    yes = v["domestic_abuse.dash"]
    if yes is None:
        if v["primary_concern"] == "domestic_abuse":
            out.append(_IX["dash=absent_in_da"])
    else:
        out.extend(_IX[f"dash_yes>={k}"] for k in DASH_YES_CUTS if yes >= k)


def _enc_grading(v: dict[str, Any], out: list[int]) -> None:
    grading = v["domestic_abuse.dash.officer_grading"]
    if grading is not None:
        out.append(_IX["grading=given"])
        if grading in ("medium", "high"):
            out.append(_IX["grading>=medium"])
        if grading == "high":
            out.append(_IX["grading=high"])


def _enc_children(v: dict[str, Any], out: list[int]) -> None:
    n = v["children"]
    out.append(_IX["children=1" if n <= 1 else "children=2" if n == 2 else "children=3+"])


def _enc_arrest(v: dict[str, Any], out: list[int]) -> None:
    arrest = v["domestic_abuse.arrest_made"]
    if arrest != "no":
        out.append(_IX["arrest=yes" if arrest == "yes" else "arrest=not_known"])


def _flag(name: str, column: str):
    def enc(v: dict[str, Any], out: list[int]) -> None:
        if v[name]:
            out.append(_IX[column])
    return enc


# The encoders below look their column indices up once, when the module loads, not per contact:
# encoding is the hot path of batch scoring.


def _one_hot(name: str, stem: str):
    columns = {column.split("=", 1)[1]: i for column, i in _IX.items() if column.startswith(stem + "=")}

    def enc(v: dict[str, Any], out: list[int]) -> None:
        out.append(columns[v[name]])
    return enc


def _tri_field(key: str, name: str):
    """yes -> not_no; not known -> not_no and unknown; no -> nothing (see the module docstring)."""
    not_no, unknown = _IX[f"{key}:not_no"], _IX[f"{key}:unknown"]

    def enc(v: dict[str, Any], out: list[int]) -> None:
        value = v[name]
        if value != "no":
            out.append(not_no)
        if value == "not known":
            out.append(unknown)
    return enc


def _count_field(name: str, stem: str, cuts: Sequence[int]):
    """A thermometer over ``cuts``; a missing count is 'not zero' and 'unknown' (weights >= 0 and <= 0)."""
    not_zero, unknown = _IX[f"{stem}:not_zero"], _IX[f"{stem}:unknown"]
    steps = [(k, _IX[f"{stem}>={k}"]) for k in cuts[1:]]

    def enc(v: dict[str, Any], out: list[int]) -> None:
        value = v[name]
        if value is None:
            out.append(not_zero)
            out.append(unknown)
            return
        if value >= cuts[0]:
            out.append(not_zero)
        out.extend(i for k, i in steps if value >= k)
    return enc


_FACTOR_COLUMNS = {f: _IX[f"factor={f}"] for f in FACTORS}


def _enc_factors(v: dict[str, Any], out: list[int]) -> None:
    out.extend(_FACTOR_COLUMNS[f] for f in v["factors"])


def _enc_floor(v: dict[str, Any], out: list[int]) -> None:
    out.extend(_IX[f"floor>={k}"] for k in (2, 3, 4) if v["guidance_floor"] >= k)


# One encoder per field: the explanation and "what would change this" re-encode a single field.
ENCODERS = {
    "source.code": _one_hot("source.code", "source"),
    "primary_concern": _one_hot("primary_concern", "concern"),
    "factors": _enc_factors,
    "children.age_years": _one_hot("children.age_years", "youngest"),
    "children": _enc_children,
    **{f"children.{key}": _tri_field(key, f"children.{key}") for key, _ in CHILD_RISKS},
    "children.current_status": _one_hot("children.current_status", "status"),
    "children.previous_referrals_12m": _count_field("children.previous_referrals_12m", "referrals",
                                                    REFERRAL_CUTS),
    "domestic_abuse.dash": _enc_dash,
    "domestic_abuse.dash.officer_grading": _enc_grading,
    "domestic_abuse.incidents_12m": _count_field("domestic_abuse.incidents_12m", "incidents", INCIDENT_CUTS),
    **{f"domestic_abuse.{key}": _tri_field(key, f"domestic_abuse.{key}") for key, _ in DA_RISKS},
    "domestic_abuse.arrest_made": _enc_arrest,
    "consent": _one_hot("consent", "consent"),
    "referrer_request": _one_hot("referrer_request", "request"),
    "interaction.da_child_present": _flag("interaction.da_child_present", "da_x_child_present"),
    "interaction.high_risk_child_present": _flag("interaction.high_risk_child_present",
                                                 "dash_high_x_child_present"),
    "interaction.baby_injured": _flag("interaction.baby_injured", "infant_x_injured"),
    "guidance_floor": _enc_floor,
    "prior_marac_12m": _flag("prior_marac_12m", "prior_marac"),
}
INTERACTION_FIELDS = ("interaction.da_child_present", "interaction.high_risk_child_present",
                      "interaction.baby_injured")


def field_columns(v: dict[str, Any], name: str) -> list[int]:
    """The active columns of one field for a summarised contact."""
    out: list[int] = []
    ENCODERS[name](v, out)
    return out


def active_columns(v: dict[str, Any]) -> list[int]:
    """The indices of the columns that are 1 for a summarised contact (all others are 0)."""
    out: list[int] = []
    for enc in ENCODERS.values():
        enc(v, out)
    out.sort()
    return out


def encode(contact: dict, *, floor_level: int = 0, history: KnownHistory = UNKNOWN) -> list[int]:
    """Active column indices of one contact: the single-contact serving path."""
    return active_columns(summarise(contact, floor_level=floor_level, history=history))


def encode_many(contacts: Sequence[dict], floor_levels: Sequence[int],
                histories: Sequence[KnownHistory] | None = None) -> sparse.csr_matrix:
    """A sparse 0/1 matrix (one row per contact) built from the same ``encode`` as serving."""
    histories = histories if histories is not None else [UNKNOWN] * len(contacts)
    indices: list[int] = []
    indptr = [0]
    for contact, floor, history in zip(contacts, floor_levels, histories, strict=True):
        indices.extend(encode(contact, floor_level=floor, history=history))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return sparse.csr_matrix((data, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int64)),
                             shape=(len(contacts), N_FEATURES))


def dense(active: Sequence[int]) -> np.ndarray:
    """The dense 0/1 row for a list of active columns (for scikit-learn's own predict_proba)."""
    row = np.zeros((1, N_FEATURES))
    row[0, list(active)] = 1.0
    return row


# ---------------------------------------------------------------------------------------------
# Versioned feature sets for the two-stage pipeline (issue 14). features-v1 above is the prefix of
# both: its columns keep their indices, so its encoders serve the new sets unchanged, and a model
# trained on features-v1 still loads. The manifest names the set a model was trained on.
#
#   screening-v2     features-v1 + the front door's own records (``KnownHistory``)
#   after-checks-v2  screening-v2 + what each agency's check found
#
# Finding codes come from the guidance's checks section at training time and are stored in the
# manifest, so the set a model was trained on can be rebuilt exactly when it is loaded.
# ---------------------------------------------------------------------------------------------

SCREENING_SET = "screening-v2"
AFTER_CHECKS_SET = "after-checks-v2"
HISTORY_FIELDS = (
    ("history.earlier_contacts", "Our earlier contacts about these children", "earlier_contacts", (1, 3)),
    ("history.contacts_12m", "Our contacts about these children in the last 12 months", "contacts_12m", (1, 2, 3)),
    ("history.referrals_12m", "Referrals we made about these children in the last 12 months", "referrals_12m",
     (1, 2)),
    ("history.highest_level", "The highest level we decided before", "highest_level", (2, 3, 4)),
)
NOT_ASKED = "not asked"
NOT_KNOWN = "not known to them"


@dataclass(frozen=True)
class FeatureSet:
    """A versioned column layout: the v1 columns, then the history and (after checks) the check columns."""

    name: str
    columns: tuple[Column, ...]
    index: dict[str, int]
    labels: dict[str, str]
    agencies: dict[str, tuple[str, ...]]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def signs(self) -> np.ndarray:
        return np.array([c.sign for c in self.columns], dtype=np.int8)

    @property
    def n_features(self) -> int:
        return len(self.columns)

    def values(self, contact: dict, *, floor_level: int, prior_marac_12m: bool, history: Any = None,
               checks: dict[str, dict] | None = None) -> dict[str, Any]:
        """The contact's explained fields plus the store's history and, after checks, each agency's answer.

        ``history`` is a ``triage.engine.history.KnownHistory`` (or its fields as a dict); ``checks``
        maps an agency to ``{"known", "findings"}`` for each agency asked; an agency absent was not asked.
        """
        # The features-v1 columns read the MARAC flag as the recommendation step saw it.
        v = summarise(contact, floor_level=floor_level, history=KnownHistory(marac_12m=bool(prior_marac_12m)))
        h = history if isinstance(history, dict) else (vars(history) if history is not None else {})
        v["history.earlier_contacts"] = int(h.get("earlier_contacts") or 0)
        v["history.contacts_12m"] = int(h.get("contacts_12m") or 0)
        v["history.referrals_12m"] = int(h.get("referrals_12m") or 0)
        v["history.highest_level"] = h.get("highest_level")
        v["history.marac_12m"] = bool(h.get("marac_12m"))
        for agency in self.agencies:
            answer = (checks or {}).get(agency)
            v[f"checks.{agency}"] = (NOT_ASKED if answer is None else
                                     sorted(answer.get("findings") or []) if answer.get("known") else NOT_KNOWN)
        return v

    def active(self, v: dict[str, Any]) -> list[int]:
        """Active columns: the v1 encoders (same indices), then history, then checks."""
        out = active_columns(v)
        ix = self.index
        for fld, _, stem, cuts in HISTORY_FIELDS:
            value = v[fld] or 0
            out.extend(ix[f"{stem}>={k}"] for k in cuts if value >= k)
        if v["history.marac_12m"]:
            out.append(ix["history_marac_12m"])
        for agency, codes in self.agencies.items():
            answer = v[f"checks.{agency}"]
            if answer == NOT_ASKED:
                out.append(ix[f"{agency}:not_asked"])
            elif answer != NOT_KNOWN:
                out.append(ix[f"{agency}:known"])
                out.extend(ix[f"{agency}:{code}"] for code in answer if code in codes)
        return out

    def field_of(self, column: int) -> str:
        return self.columns[column].field

    def encode_many(self, rows: Sequence[dict[str, Any]]) -> sparse.csr_matrix:
        """A sparse 0/1 matrix from already-built ``values`` (one per row), the same encoding as serving."""
        indices: list[int] = []
        indptr = [0]
        for v in rows:
            indices.extend(self.active(v))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float64)
        return sparse.csr_matrix((data, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int64)),
                                 shape=(len(rows), self.n_features))


def feature_set(name: str, agencies: dict[str, Sequence[str]] | None = None) -> FeatureSet:
    """Build a named feature set; ``agencies`` (agency -> finding codes) is needed after checks."""
    if name not in (SCREENING_SET, AFTER_CHECKS_SET):
        raise ValueError(f"unknown feature set {name!r}")
    s = _build_schema()
    for fld, label, stem, cuts in HISTORY_FIELDS:
        for k in cuts:
            s.add(fld, label, f"{stem}>={k}", POS)
    s.add("history.marac_12m", "We recorded a MARAC referral in the last 12 months", "history_marac_12m", POS)
    chosen = {a: tuple(c) for a, c in (agencies or {}).items()} if name == AFTER_CHECKS_SET else {}
    for agency, codes in chosen.items():
        label = f"What {agency} checks found"
        s.add(f"checks.{agency}", label, f"{agency}:not_asked")
        s.add(f"checks.{agency}", label, f"{agency}:known", POS)
        for code in codes:
            s.add(f"checks.{agency}", label, f"{agency}:{code}", POS)
    return FeatureSet(name, tuple(s.columns), dict(s.index), dict(s.labels), chosen)
