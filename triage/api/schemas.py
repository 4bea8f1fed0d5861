"""The API's answers and query strings as marshmallow schemas: what the OpenAPI document shows.

Views decorated with ``@blp.response(status, Schema)`` return a dict that the schema dumps, so
the document and the answer come from one place. Two bodies are assembled by hand and only
described here, because they pass through what was stored: the contact (the partner's own
document plus the front door's state) and the recommendation (the engine's output, stored as
it was made). ``tests/api/test_openapi.py`` checks every real answer against these schemas.

The fields say what a client may rely on: names, types, which may be null. ``validate=OneOf``
on an output field documents its values (it is never run on dump).
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from triage.engine.contract import SOURCE_CODES, ChildSchema, ContactSchema
from triage.engine.guidance_config import CHECK_AGENCIES, LEVELS, URGENCIES
from triage.record.audit import EVENT_KINDS
from triage.record.paging import COUNT_LIMIT, MAX_PER_PAGE
from triage.record.tables import CONSENT_POSITIONS
from triage.record.workflow import Status
from triage.services.checks import ANSWERED, OPEN

STATUSES = tuple(s.value for s in Status)
TIMESTAMP = {"format": "date-time", "description": "RFC 3339, UTC (ending Z)."}


class Out(Schema):
    """An answer's schema. The contract allows answers to gain fields, so the document says
    ``additionalProperties: true``: a client ignores a field it does not know. (The test that
    checks real answers treats them as closed, so a field sent but not declared here fails it.)
    """

    class Meta:
        unknown = INCLUDE


def _level(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.OneOf(LEVELS), **kwargs)


def _timestamp(**kwargs) -> fields.String:
    return fields.String(metadata=TIMESTAMP | kwargs.pop("metadata", {}), **kwargs)


class Counts(fields.Dict):
    """Counts by code (``{"2A": 19, ...}``), documented as a dict of integers and answered as counted.

    Why not ``fields.Dict(values=fields.Integer())``: that calls two fields per key, and a year's
    dashboard has 366 days of some 20 sources each; those calls were a third of the year's answer
    time. Each count is still made an ``int`` (a PostgreSQL ``SUM`` is a ``Decimal``), in one step.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(keys=fields.String(), values=fields.Integer(), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else {str(key): int(count) for key, count in value.items()}


class AsBuilt(fields.List):
    """A list of rows documented as ``schema`` says and answered as the service built them.

    Why: a year's dashboard lists 366 days of some 20 sources each, and dumping them field by
    field was a quarter of the year's answer (``benchmarks/bench_dashboard_cpu.py``) for rows
    built already in the documented shape, of strings and ``int`` counts (``dashboard._fold``;
    ``tests/api/test_schemas.py`` checks that the schema's own dump gives the same).
    """

    def __init__(self, schema: type[Schema], **kwargs) -> None:
        super().__init__(fields.Nested(schema), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else list(value)


# ---------------------------------------------------------------------------------------------
# The contact and its recommendation (spec section 2): described, assembled by hand
# ---------------------------------------------------------------------------------------------


class IndicatorSchema(Out):
    id = fields.String(metadata={"description": "The indicator's id in config/thresholds.yaml."})
    level = _level()
    text = fields.String(metadata={"description": "Plain English, from config/thresholds.yaml."})


class FloorSchema(Out):
    level = fields.Integer(validate=validate.Range(min=0, max=4),
                           metadata={"description": "What the guidance's hard rules require (0: nothing)."})
    indicators = fields.List(fields.String())


class ContributionSchema(Out):
    feature = fields.String()
    label = fields.String(metadata={"description": "Plain English."})
    value = fields.Raw(allow_none=True)
    contribution = fields.Float()


class ExplanationSchema(Out):
    contributions = fields.List(fields.Nested(ContributionSchema))
    intercept = fields.Float()
    score = fields.Float(metadata={"description": "intercept plus the contributions (to within 1e-6)."})
    level_explained = _level()
    scale = fields.String()
    scale_rule = fields.String()


class MaracSchema(Out):
    recommended = fields.Boolean()
    criteria = fields.List(fields.String(validate=validate.OneOf(
        ("visible_high_risk", "professional_judgement", "potential_escalation", "repeat"))))


class DashQuestionSchema(Out):
    number = fields.Integer()
    topic = fields.String()


class DashResultSchema(Out):
    yes_count = fields.Integer()
    risk = fields.String(validate=validate.OneOf(("standard", "medium", "high")))
    count_risk = fields.String(allow_none=True)
    not_known_count = fields.Integer()
    officer_grading = fields.String(allow_none=True)
    version = fields.String(allow_none=True)
    yes_questions = fields.List(fields.Nested(DashQuestionSchema))


class ConsentPositionSchema(Out):
    ok = fields.Boolean()
    note = fields.String()


class InformationGapSchema(Out):
    field = fields.String(metadata={"description": "The JSON path in the contact."})
    why = fields.String(metadata={"description": "Plain English."})


def _keyword(name: str, field: fields.Field) -> fields.Field:
    """A field whose name is a Python keyword (``from``): declared as ``from_``, read and written as ``from``."""
    field.attribute = field.data_key = name
    return field


class ChangeSchema(Out):
    field = fields.String()
    label = fields.String()
    from_ = _keyword("from", fields.Raw(allow_none=True))
    to = fields.Raw(allow_none=True)
    new_level = _level()
    statement = fields.String()


# ---- multi-agency checks in the recommendation (issue 13) ------------------------------------


NEXT_STEPS = ("refer", "checks", "decide")
STAGES = ("screening", "after_checks")


class PlannedCheckSchema(Out):
    """An agency the screening would ask, and why (``recommendation.checks``)."""

    agency = fields.String(validate=validate.OneOf(CHECK_AGENCIES))
    why = fields.String(metadata={"description": "Plain English: what this agency may know."})
    due_at = _timestamp(metadata={"description": "Before the decision deadline, by the contact's urgency."})


class ReadingItemSchema(Out):
    """One line of the recommendation read aloud, in plain English."""

    text = fields.String(metadata={"description": "The line as a worker reads it."})
    label = fields.String(metadata={"description": "What it is about, in words."})
    value = fields.String(metadata={"description": "What the contact says, in words (says only)."})
    effect = fields.String(metadata={"description": "Which way it points: towards a higher or a lower level."})
    agency = fields.String(allow_none=True, validate=validate.OneOf(CHECK_AGENCIES), metadata={
        "description": "The agency it is about, where it is about one."})
    kind = fields.String(validate=validate.OneOf(("check_answer", "contact")), metadata={
        "description": "would_change: an agency's answer to the checks, or a change to the contact."})
    new_level = _level(metadata={"description": "would_change: the level it would give."})


class ReadingSchema(Out):
    """What the contact says, what is not known, what checks found, and what would change this (issue 14)."""

    stage = fields.String(validate=validate.OneOf(STAGES))
    says = fields.List(fields.Nested(ReadingItemSchema), metadata={
        "description": "What the contact and the front door's own records say, largest effect first."})
    not_known = fields.List(fields.Nested(ReadingItemSchema), metadata={
        "description": "What is missing: never a reason for a higher level; at screening the checks ask it."})
    found = fields.List(fields.Nested(ReadingItemSchema), metadata={
        "description": "After checks: what each agency asked answered, and which way it pointed."})
    would_change = fields.List(fields.Nested(ReadingItemSchema), metadata={
        "description": "At screening, the agency answers that would move the level; at either stage, the "
                       "single change to the contact that would."})


class RecommendationSchema(Out):
    """The front door's recommendation, as the engine made it when the contact was scored."""

    level = _level(metadata={"description": "Never lower than floor.level."})
    level_name = fields.String()
    probabilities = fields.Dict(keys=fields.String(), values=fields.Float(), allow_none=True,
                                metadata={"description": "Calibrated, by level; null when running on the "
                                                         "guidance rules alone."})
    floor = fields.Nested(FloorSchema)
    indicators = fields.List(fields.Nested(IndicatorSchema))
    explanation = fields.Nested(ExplanationSchema, allow_none=True)
    marac = fields.Nested(MaracSchema)
    dash = fields.Nested(DashResultSchema, allow_none=True)
    consent = fields.Nested(ConsentPositionSchema)
    information_gaps = fields.List(fields.Nested(InformationGapSchema))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    model_version = fields.String()
    guidance_version = fields.String(metadata={
        "description": "The label of the threshold guidance that produced it (GET /api/v1/guidance)."})
    guidance_sha256 = fields.String(metadata={"description": "The SHA-256 of that guidance file."})
    rationale_draft = fields.String(metadata={"description": "A paragraph a worker can edit."})
    rationale_drafts = fields.Dict(keys=fields.String(), values=fields.String(),
                                   metadata={"description": "A draft for each level a worker might choose."})
    decision_due_at = fields.String(metadata={"format": "date-time"})
    mode = fields.String(validate=validate.OneOf(("model", "rules_only")))
    note = fields.String(metadata={"description": "Rules-only mode: why there are no probabilities."})
    most_likely_level = _level()
    caution = fields.String(allow_none=True, metadata={"description": "Why the level is a precaution."})
    what_would_change = fields.List(fields.Nested(ChangeSchema))
    # multi-agency checks (issue 13)
    next_step = fields.String(validate=validate.OneOf(NEXT_STEPS), metadata={
        "description": "refer, decide, or ask partner agencies first (checks)."})
    stage = fields.String(validate=validate.OneOf(STAGES), metadata={
        "description": "Made at screening, or again on what the checks found."})
    checks = fields.List(fields.Nested(PlannedCheckSchema), metadata={
        "description": "The agencies to ask when next_step is checks; empty otherwise."})
    checks_found = fields.List(fields.String(), metadata={
        "description": "After checks: what the agencies found, in plain English."})
    reading = fields.Nested(ReadingSchema, metadata={
        "description": "The recommendation in plain English; absent when running on the guidance rules alone."})


class DecisionOutSchema(Out):
    id = fields.Integer()
    level = _level()
    level_name = fields.String(allow_none=True)
    rationale = fields.String()
    marac_referral = fields.Boolean()
    next_steps = fields.String(allow_none=True)
    override_reason = fields.String(allow_none=True)
    recommended_level = fields.Integer(allow_none=True)
    floor_level = fields.Integer(allow_none=True)
    model_version = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = _timestamp()
    corrects = fields.Integer(allow_none=True, metadata={"description": "The decision this one corrects."})
    # multi-agency checks and consent (issue 13)
    recommendation_stage = fields.String(allow_none=True, validate=validate.OneOf(STAGES), metadata={
        "description": "The recommendation's stage when decided; null when there was none."})
    consent = fields.String(allow_none=True, validate=validate.OneOf(CONSENT_POSITIONS), metadata={
        "description": "Whether consent was sought and the outcome; null when not recorded."})
    consent_reason = fields.String(allow_none=True, metadata={
        "description": "Why consent was not sought, or why early help without it."})


class ReviewOutSchema(Out):
    id = fields.Integer()
    decision_id = fields.Integer()
    outcome = fields.String(validate=validate.OneOf(("confirmed", "changed")))
    level = fields.Integer(allow_none=True, validate=validate.OneOf(LEVELS))
    level_name = fields.String(allow_none=True)
    rationale = fields.String()
    reviewed_by = fields.String()
    reviewed_at = _timestamp()
    corrects = fields.Integer(allow_none=True, metadata={"description": "The review this one corrects."})


class ChildOutSchema(ChildSchema):
    """A child as the service answers it: never its identifiers, always the service's own child_id."""

    class Meta:
        exclude = ("identifiers",)

    child_id = fields.String(metadata={"description": "The service's own pseudonymous id for this child "
                                                      "(spec section 9): the same for every contact about them."})


class ContactOutSchema(ContactSchema):
    """A stored contact: what the partner sent, plus the front door's state and recommendation.

    The recommendation, urgency, decision, review, checks and version are for the front door only:
    a partner's answer leaves them null (recommendation, decision, review) or out (the rest), and
    carries ``feedback`` instead: the outcome once a manager has released it (this departs from the
    shared spec's sections 1 and 2 on purpose; see ``triage/services/partner_view.py``).
    """

    class Meta:
        unknown = INCLUDE

    children = fields.List(fields.Nested(ChildOutSchema), required=True)
    id = fields.String(required=True, metadata={"description": "The front door's id for this contact."})
    accepted_at = _timestamp(required=True, metadata={
        "description": "When the front door's clock started (spec section 8): when the service first "
                       "accepted a partner's contact, or the call time a worker gave."})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    decision_due_at = _timestamp(required=True, metadata={"description": "One working day after accepted_at."})
    urgency = fields.String(allow_none=True, validate=validate.OneOf(URGENCIES), metadata={
        "description": "For the front door only: left out of a partner's answer."})
    recommendation = fields.Nested(RecommendationSchema, allow_none=True, metadata={
        "description": "The front door's advice to itself: null when the contact could not be scored, and "
                       "always null for a partner (a recommendation is not an outcome; a partner reads the "
                       "outcome in feedback once a manager has released it)."})
    decision = fields.Nested(DecisionOutSchema, allow_none=True, metadata={
        "description": "The latest decision; always null for a partner."})
    review = fields.Nested(ReviewOutSchema, allow_none=True, metadata={
        "description": "The latest review; always null for a partner."})
    feedback = fields.Nested(lambda: ReleasedFeedbackSchema(), allow_none=True, metadata={
        "description": "In a partner's answer only: the newest feedback a manager released on this contact "
                       "(the confirmed outcome, as GET /api/v1/feedback gives it), or null until one is."})
    version = fields.Integer(metadata={"description": "Send back as expected_version when acting on it."})
    # multi-agency checks (issue 13): for the front door only, like version
    screening_recommendation = fields.Nested(RecommendationSchema, allow_none=True, metadata={
        "description": "The screening's recommendation, kept when the contact is scored again after checks."})
    checks = fields.List(fields.Nested(lambda: CheckSchema()), metadata={
        "description": "The checks asked of partner agencies, with their answers."})


# ---------------------------------------------------------------------------------------------
# Lists, queues and the record: dumped with these schemas
# ---------------------------------------------------------------------------------------------


#: The deepest page a listing serves: 100,000 pages of up to 200 is twenty million contacts, far
#: more than a front door holds, and keeps the offset well inside every database's integer range
#: (a page of 10**18 used to overflow SQLite and PostgreSQL's bigint: a 500).
MAX_PAGE = 100_000


class ContactQuerySchema(Schema):
    """Filters and pagination for ``GET /api/v1/contacts``."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    source_code = fields.String(validate=validate.OneOf(SOURCE_CODES))
    received_from = fields.AwareDateTime(metadata={"description": "RFC 3339, inclusive."})
    received_to = fields.AwareDateTime(metadata={"description": "RFC 3339, exclusive."})
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=MAX_PAGE, error=f"Enter a page number from 1 to {MAX_PAGE}."), metadata={
        "description": f"Page numbers reach the first {COUNT_LIMIT:,} contacts of the list, as far as its total is "
                       "counted ((page - 1) x per_page under that); further on, follow next_cursor."})
    per_page = fields.Integer(load_default=50, validate=validate.Range(
        min=1, max=MAX_PER_PAGE, error=f"Enter a page size (per_page) from 1 to {MAX_PER_PAGE}."))
    cursor = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": "The next_cursor of the page before: the next page costs the same however deep it is "
                       "(a page by number passes every earlier row in the list's index). Give cursor or page, not both."})

    @validates_schema
    def _page_within_the_count(self, data: dict, **_kwargs) -> None:
        """A page by number is read past every row before it (OFFSET): so it reaches only as far as the list's
        total is counted (``COUNT_LIMIT``), and no request costs more than reading that far. Past it the
        total says only "more", so no page number there could be known but by counting pages."""
        if (data["page"] - 1) * data["per_page"] >= COUNT_LIMIT:
            raise ValidationError(f"Page numbers reach the first {COUNT_LIMIT:,} contacts of the list; for later "
                                  "pages follow next_cursor (pass it back as cursor).", field_name="page")


class ContactSummarySchema(Out):
    """One contact in a list. In a partner's list the recommendation's fields (urgency,
    recommended_level, floor_level, marac_recommended, dash_risk, next_step, stage) are null."""

    id = fields.String()
    partner_reference = fields.String()
    organisation = fields.String()
    source_code = fields.String()
    primary_concern = fields.String()
    received_at = _timestamp()
    accepted_at = _timestamp()
    decision_due_at = _timestamp(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    urgency = fields.String(allow_none=True, validate=validate.OneOf(URGENCIES))
    recommended_level = fields.Integer(allow_none=True)
    floor_level = fields.Integer(allow_none=True)
    marac_recommended = fields.Boolean(allow_none=True)
    dash_risk = fields.String(allow_none=True)
    children_ages = fields.List(fields.Raw(), metadata={"description": "Each an age in years, or 'unborn'."})
    next_step = fields.String(allow_none=True, validate=validate.OneOf(NEXT_STEPS))
    stage = fields.String(allow_none=True, validate=validate.OneOf(STAGES))


class CountedPageSchema(Out):
    """What every list read a page at a time with a capped count answers beside its items."""

    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": f"How many items match, counted up to {COUNT_LIMIT:,} "
                                                    "(total_capped is true when there are more)."})
    total_capped = fields.Boolean(metadata={"description": "True when more items match than total says."})
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Send as ?cursor= for the next page; null on the last page."})


class ContactPageSchema(CountedPageSchema):
    items = fields.List(fields.Nested(ContactSummarySchema))
    page = fields.Integer()


class TimeSchema(Out):
    seconds_left = fields.Integer(allow_none=True, metadata={"description": "Negative when overdue."})
    overdue = fields.Boolean()
    text = fields.String(metadata={"description": "e.g. '3 hours 20 minutes left', 'overdue by 1 day 2 hours'."})


class QueueDecisionSchema(Out):
    id = fields.Integer()
    level = _level()
    decided_by = fields.String()
    decided_at = _timestamp()
    review_due_at = _timestamp(metadata={"description": "One working day after the decision."})


class QueueCheckSchema(Out):
    id = fields.Integer()
    agency = fields.String(validate=validate.OneOf(CHECK_AGENCIES))
    due_at = _timestamp()
    answered = fields.Boolean()
    overdue = fields.Boolean()


class QueueItemSchema(ContactSummarySchema):
    time = fields.Nested(TimeSchema)
    decision = fields.Nested(QueueDecisionSchema,
                             metadata={"description": "The latest decision (review and decided-today queues)."})
    checks = fields.List(fields.Nested(QueueCheckSchema),
                         metadata={"description": "The contact's checks (awaiting-checks queue)."})
    overdue_checks = fields.List(fields.String(), metadata={
        "description": "The agencies past their due time (awaiting-checks queue)."})


class QueueSchema(Out):
    queue = fields.String()
    description = fields.String()
    count = fields.Integer(metadata={"description": f"How many items the whole queue holds, counted up to "
                                                    f"{COUNT_LIMIT:,} (items is one page; count_capped is true "
                                                    "when there are more)."})
    count_capped = fields.Boolean(metadata={"description": "True when the queue holds more items than count says."})
    items = fields.List(fields.Nested(QueueItemSchema))
    next_cursor = fields.String(allow_none=True, metadata={
        "description": "Send as ?cursor= for the next page; null on the last page."})


class RecordedSchema(Out):
    """What every recording POST adds: where the contact stands now."""

    contact_id = fields.String()
    contact_status = fields.String(validate=validate.OneOf(STATUSES))
    contact_version = fields.Integer(metadata={"description": "Send as expected_version next time."})


class DecisionRecordedSchema(DecisionOutSchema, RecordedSchema):
    pass


class ReviewRecordedSchema(ReviewOutSchema, RecordedSchema):
    pass


class InformationRequestedSchema(RecordedSchema):
    id = fields.Integer()
    fields_ = _keyword("fields", fields.List(fields.String()))
    message = fields.String()
    requested_by = fields.String()
    requested_at = _timestamp()
    decision_due_at = _timestamp(allow_none=True, metadata={"description": "Unchanged: the deadline stands."})


class EventOutSchema(Out):
    seq = fields.Integer()
    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))
    who = fields.String(allow_none=True)
    at = _timestamp()
    what = fields.Dict()


class TimelinessSchema(Out):
    received_at = _timestamp(metadata={"description": "When the partner recorded the contact."})
    accepted_at = _timestamp(metadata={"description": "When the front door's clock started; hours count from here."})
    decision_due_at = _timestamp(allow_none=True)
    decided_at = _timestamp(allow_none=True)
    reviewed_at = _timestamp(allow_none=True)
    hours_to_decision = fields.Float(allow_none=True, metadata={"description": "Working hours."})
    hours_decision_to_review = fields.Float(allow_none=True, metadata={"description": "Working hours."})
    decided_on_time = fields.Boolean(allow_none=True)
    review_due_at = _timestamp(allow_none=True)
    reviewed_on_time = fields.Boolean(allow_none=True)


class HistoryOutSchema(Out):
    contact_id = fields.String()
    status = fields.String(validate=validate.OneOf(STATUSES))
    events = fields.List(fields.Nested(EventOutSchema))
    timeliness = fields.Nested(TimelinessSchema)


# ---------------------------------------------------------------------------------------------
# A child across contacts (spec section 9): the service's own ids only, never identifiers
# ---------------------------------------------------------------------------------------------


class ChildSourceSchema(Out):
    code = fields.String(validate=validate.OneOf(SOURCE_CODES))
    organisation = fields.String()


class ChildMaracSchema(Out):
    recommended = fields.Boolean(metadata={"description": "The front door recommended a MARAC referral."})
    referral_decided = fields.Boolean(metadata={"description": "The decision referred to MARAC."})


class ChildOnContactSchema(Out):
    child_id = fields.String()
    age_years = fields.Integer(allow_none=True)
    unborn = fields.Boolean()


class ChildContactSchema(Out):
    """One contact about the child (or a record linked to it), as the history lists it."""

    contact_id = fields.String()
    accepted_at = _timestamp(metadata={"description": "When the front door's clock started; the list is "
                                                      "newest first by it."})
    received_at = _timestamp(metadata={"description": "When the partner recorded the contact."})
    source = fields.Nested(ChildSourceSchema)
    primary_concern = fields.String()
    decided_level = fields.Integer(allow_none=True, validate=validate.OneOf(LEVELS),
                                   metadata={"description": "The manager's level once reviewed, else the "
                                                            "worker's; null when undecided."})
    decided_level_name = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    marac = fields.Nested(ChildMaracSchema)
    children = fields.List(fields.Nested(ChildOnContactSchema),
                           metadata={"description": "Every child on the contact (siblings too)."})


class UndoneSchema(Out):
    reason = fields.String()
    by = fields.String()
    at = _timestamp()


class ChildLinkSchema(Out):
    """A person's statement that two child records are one child; undone links stay, marked undone."""

    id = fields.Integer()
    child_id = fields.String()
    linked_child_id = fields.String()
    contact_id = fields.String(allow_none=True, metadata={"description": "The contact it was made from, if any."})
    reason = fields.String()
    linked_by = fields.String()
    linked_at = _timestamp()
    undone = fields.Nested(UndoneSchema, allow_none=True, metadata={"description": "Null while the link stands."})


class ChildLinkAnswerSchema(ChildLinkSchema):
    group = fields.List(fields.String(), metadata={
        "description": "Every child record that is now the same child as the path's, sorted."})


class ChildHistorySchema(Out):
    child_id = fields.String()
    child_ids = fields.List(fields.String(), metadata={
        "description": "This record and every record linked to it by links in force, sorted."})
    contacts = fields.List(fields.Nested(ChildContactSchema), metadata={"description": "Newest first."})
    contacts_12m = fields.Integer(metadata={"description": "Contacts accepted in the twelve months before as_of."})
    referrals_12m = fields.Integer(metadata={"description": "Of those, decided at a referral level."})
    marac_12m = fields.Boolean(metadata={"description": "Whether any of those was referred to MARAC."})
    as_of = _timestamp()
    links = fields.List(fields.Nested(ChildLinkSchema), metadata={
        "description": "Every link touching the group, in force or undone, oldest first."})


# ---------------------------------------------------------------------------------------------
# Feedback, reports and the model in use
# ---------------------------------------------------------------------------------------------


class FeedbackGapSchema(Out):
    field = fields.String(metadata={"description": "The JSON path in the contact."})
    label = fields.String(metadata={"description": "What was missing, in plain English."})
    why = fields.String()


class FeedbackConsentSchema(Out):
    given = fields.String(allow_none=True, metadata={"description": "The contact's consent field as sent."})
    summary = fields.String()
    ok = fields.Boolean(metadata={"description": "Whether the consent position allows the outcome's pathway."})
    note = fields.String()
    decided = fields.String(allow_none=True, validate=validate.OneOf(CONSENT_POSITIONS), metadata={
        "description": "The consent position the front door recorded with its decision (issue 13)."})
    decided_summary = fields.String(metadata={"description": "That position in plain English ('' when none)."})


class FeedbackDashSchema(Out):
    version = fields.String(allow_none=True)
    yes_count = fields.Integer(allow_none=True)
    not_known_count = fields.Integer(allow_none=True)
    risk = fields.String(allow_none=True)
    officer_grading = fields.String(allow_none=True)


class FeedbackMaracSchema(Out):
    criteria_met = fields.List(fields.String(), metadata={"description": "In plain English."})
    referred = fields.Boolean(metadata={"description": "Whether the front door referred to MARAC."})


class FeedbackSchema(Out):
    """What a partner reads about one contact (spec section 7); never the front door's notes."""

    contact_id = fields.String()
    partner_reference = fields.String()
    team = fields.String(allow_none=True)
    primary_concern = fields.String()
    received_at = _timestamp()
    level = _level()
    level_name = fields.String()
    level_description = fields.String()
    referral = fields.Boolean()
    reason = fields.String(metadata={"description": "Plain English, citing the threshold guidance."})
    indicators_met = fields.List(fields.Nested(IndicatorSchema))
    indicators_not_met = fields.List(fields.Nested(IndicatorSchema))
    information_gaps = fields.List(fields.Nested(FeedbackGapSchema))
    consent = fields.Nested(FeedbackConsentSchema)
    dash = fields.Nested(FeedbackDashSchema, allow_none=True,
                         metadata={"description": "Null when the contact had no DASH checklist."})
    marac = fields.Nested(FeedbackMaracSchema)
    next_time = fields.List(fields.String())


class ReleasedFeedbackSchema(FeedbackSchema):
    id = fields.Integer()
    released_at = _timestamp()


class FeedbackListSchema(CountedPageSchema):
    """One page of a partner's released feedback, newest first (``?cursor=`` the next_cursor for the next)."""

    items = fields.List(fields.Nested(ReleasedFeedbackSchema))


class FeedbackPreviewSchema(Out):
    feedback = fields.Nested(FeedbackSchema)
    released = fields.Boolean(metadata={"description": "This very text has been released already."})
    last_released_at = _timestamp(allow_none=True)


class PartnerOrganisationSchema(Out):
    id = fields.Integer()
    name = fields.String()
    contacts = fields.Integer(metadata={"description": "Contacts it sent in the month (accepted then, London)."})


class PartnerOrganisationsSchema(Out):
    month = fields.String(metadata={"description": "YYYY-MM: the month counted."})
    items = fields.List(fields.Nested(PartnerOrganisationSchema), metadata={
        "description": "Every organisation that has ever sent a contact, by name (none this month: 0)."})


class OrganisationSchema(Out):
    id = fields.Integer()
    name = fields.String()


def _share(**kwargs) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": "0 to 1; null when there is nothing to divide by."},
                        **kwargs)


class LevelCountSchema(Out):
    contacts = fields.Integer()
    share = _share()


class CommonGapSchema(Out):
    field = fields.String()
    label = fields.String()
    contacts = fields.Integer()
    share = _share()


class InformationFiguresSchema(Out):
    assessed = fields.Integer()
    no_gaps = fields.Integer()
    no_gaps_share = _share()
    common_gaps = fields.List(fields.Nested(CommonGapSchema))


class ConsentFiguresSchema(Out):
    counts = Counts(metadata={"description": "By consent value."})
    sought = fields.Integer()
    sought_share = _share()


class DashFiguresSchema(Out):
    domestic_abuse_contacts = fields.Integer()
    completed = fields.Integer()
    completed_share = _share()


class MonthFiguresSchema(Out):
    contacts = fields.Integer()
    late_notifications = fields.Integer(metadata={
        "description": "Contacts sent more than a working day after the partner recorded them (received_at)."})
    decided = fields.Integer(metadata={"description": "With a confirmed outcome."})
    awaiting_outcome = fields.Integer()
    levels = fields.Dict(keys=fields.String(), values=fields.Nested(LevelCountSchema),
                         metadata={"description": "By confirmed level."})
    referrals = fields.Integer()
    referral_share = _share()
    information = fields.Nested(InformationFiguresSchema)
    consent = fields.Nested(ConsentFiguresSchema)
    dash = fields.Nested(DashFiguresSchema)


class HeadlineFiguresSchema(Out):
    contacts = fields.Integer()
    decided = fields.Integer()
    referral_share = _share()
    no_gaps_share = _share()
    consent_sought_share = _share()
    dash_completed_share = _share()


class TrendPointSchema(HeadlineFiguresSchema):
    month = fields.String(metadata={"description": "YYYY-MM"})


class AgencyChecksFiguresSchema(Out):
    agency = fields.String(validate=validate.OneOf(CHECK_AGENCIES))
    asked = fields.Integer()
    answered_on_time = fields.Integer()
    answered_late = fields.Integer()
    not_answered = fields.Integer()
    on_time_share = _share()  # null below min_for_share checks: read the counts


class DecisionTimeSchema(Out):
    decided = fields.Integer()
    median_working_hours = fields.Float(allow_none=True)


class TimeToDecisionSchema(Out):
    with_checks = fields.Nested(DecisionTimeSchema)
    without_checks = fields.Nested(DecisionTimeSchema)


class LevelChangedSchema(Out):
    rescored = fields.Integer(metadata={"description": "Contacts scored again after checks."})
    raised = fields.Integer()
    lowered = fields.Integer()
    unchanged = fields.Integer()
    changed_share = _share()  # null below min_for_share contacts: read the counts


class ChecksFiguresSchema(Out):
    """Screening and checks (issue 13 item 7), for contacts accepted in the report's window."""

    min_for_share = fields.Integer(metadata={"description": "Shares are given only from this many up."})
    contacts = fields.Integer()
    decided = fields.Integer()
    settled_at_screening = fields.Integer(metadata={"description": "Decided with no check asked."})
    settled_at_screening_share = _share()  # of those decided
    sent_to_checks = fields.Integer()
    sent_to_checks_share = _share()  # of the contacts
    agencies = fields.List(fields.Nested(AgencyChecksFiguresSchema))
    time_to_decision = fields.Nested(TimeToDecisionSchema, metadata={
        "description": "From accepted_at to the first decision, in working hours."})
    level_changed = fields.Nested(LevelChangedSchema)


class PartnerReportSchema(Out):
    organisation = fields.Nested(OrganisationSchema)
    team = fields.String(allow_none=True)
    teams = fields.List(fields.String())
    month = fields.String(metadata={"description": "YYYY-MM"})
    level_names = fields.Dict(keys=fields.String(), values=fields.String())
    referral_level = _level()
    figures = fields.Nested(MonthFiguresSchema, metadata={"description": "The partner's (or team's) month."})
    all_partners = fields.Nested(HeadlineFiguresSchema,
                                 metadata={"description": "The same month for every partner together."})
    trend = fields.List(fields.Nested(TrendPointSchema), metadata={"description": "Six months, oldest first."})
    checks = fields.Nested(ChecksFiguresSchema, metadata={
        "description": "The partner's contacts that month (every team): screening and checks."})


class DayCountSchema(Out):
    date = fields.String(metadata={"format": "date"})
    total = fields.Integer()
    by_source = Counts(metadata={"description": "By source code."})


class PerDaySchema(Out):
    sources = fields.List(fields.String(), metadata={"description": "Source codes, busiest first."})
    days = AsBuilt(DayCountSchema, metadata={"description": "Every day of the range, oldest first."})


class ConversionFiguresSchema(Out):
    decided = fields.Integer()
    referrals = fields.Integer()
    share = _share()


class ConversionSchema(ConversionFiguresSchema):
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(ConversionFiguresSchema))


class DecisionTimelinessSchema(Out):
    made = fields.Integer()
    within_deadline = fields.Integer()
    share = _share()
    undecided_past_deadline = fields.Integer()
    median_working_hours = fields.Float(allow_none=True)


class ReviewTimelinessSchema(Out):
    made = fields.Integer()
    within_deadline = fields.Integer()
    share = _share()
    unreviewed_past_deadline = fields.Integer()
    deadline_working_days = fields.Integer()


class TimelinessFiguresSchema(Out):
    decisions = fields.Nested(DecisionTimelinessSchema)
    reviews = fields.Nested(ReviewTimelinessSchema)


class DepartureSchema(Out):
    contact_id = fields.String()
    received_at = _timestamp(metadata={"description": "When the partner recorded the contact."})
    accepted_at = _timestamp(metadata={"description": "When the front door's clock started."})
    recommended_level = _level()
    decided_level = _level()
    reason = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)


class ManagerChangeSchema(Out):
    contact_id = fields.String()
    received_at = _timestamp(metadata={"description": "When the partner recorded the contact."})
    accepted_at = _timestamp(metadata={"description": "When the front door's clock started."})
    decided_level = fields.Integer(allow_none=True)
    confirmed_level = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)


class DeparturesSchema(Out):
    decisions = fields.Integer(metadata={"description": "Decisions on contacts with a recommendation."})
    departures = fields.Integer()
    share = _share()
    higher = fields.Integer()
    lower = fields.Integer()
    listed = fields.Integer(metadata={"description": "At most this many departures and changes are listed (50): "
                                                     "``departures`` and ``changed_by_managers`` count them all."})
    items = fields.List(fields.Nested(DepartureSchema), metadata={
        "description": "The most recent departures (newest accepted first), at most ``listed``."})
    reviews = fields.Integer()
    changed_by_managers = fields.Integer()
    changed_share = _share()
    changes = fields.List(fields.Nested(ManagerChangeSchema), metadata={
        "description": "The most recent changes on review (newest accepted first), at most ``listed``."})


class AgreementFiguresSchema(Out):
    confirmed = fields.Integer()
    agreed = fields.Integer()
    share = _share()


class WeekAgreementSchema(AgreementFiguresSchema):
    week_starting = fields.String(metadata={"format": "date"})


class AgreementSchema(AgreementFiguresSchema):
    by_week = fields.List(fields.Nested(WeekAgreementSchema))
    by_model = fields.Dict(keys=fields.String(), values=fields.Nested(AgreementFiguresSchema))


class MaracFiguresSchema(Out):
    recommended = fields.Integer()
    referred = fields.Integer()
    criteria = Counts()


class DashBandsSchema(Out):
    domestic_abuse_contacts = fields.Integer()
    bands = fields.Dict(keys=fields.String(), values=fields.Nested(LevelCountSchema),
                        metadata={"description": "By DASH risk band (none: no checklist)."})


class DashboardSchema(Out):
    from_ = _keyword("from", fields.String(metadata={"format": "date"}))
    to = fields.String(metadata={"format": "date"})
    level_names = fields.Dict(keys=fields.String(), values=fields.String())
    referral_level = _level()
    contacts = fields.Integer()
    per_day = fields.Nested(PerDaySchema)
    conversion = fields.Nested(ConversionSchema)
    timeliness = fields.Nested(TimelinessFiguresSchema)
    departures = fields.Nested(DeparturesSchema)
    agreement = fields.Nested(AgreementSchema)
    marac = fields.Nested(MaracFiguresSchema)
    dash = fields.Nested(DashBandsSchema)
    checks = fields.Nested(ChecksFiguresSchema)


class BoardShareSchema(Out):
    count = fields.Integer()
    of = fields.Integer()
    percent = fields.Float(allow_none=True, metadata={"description": "Only when ``of`` is 10 or more."})


class BoardPointSchema(BoardShareSchema):
    period = fields.String()


class BoardVerdictSchema(Out):
    word = fields.String()
    kind = fields.String(validate=validate.OneOf(("none", "few", "same", "moved", "improved", "worse")))
    change = fields.Float(metadata={"description": "Percentage points since the period before."})


class BoardFigureSchema(Out):
    key = fields.String()
    title = fields.String()
    counted = fields.String()
    better = fields.String(allow_none=True, validate=validate.OneOf(("up", "down")))
    points = fields.List(fields.Nested(BoardPointSchema))
    verdict = fields.Nested(BoardVerdictSchema)


class BoardCountRowSchema(Out):
    name = fields.String()
    values = fields.List(fields.Integer())


class BoardShareRowSchema(Out):
    name = fields.String()
    values = fields.List(fields.Nested(BoardShareSchema))


class BoardCountTableSchema(Out):
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(BoardCountRowSchema))


class BoardShareTableSchema(Out):
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(BoardShareRowSchema))


class BoardTablesSchema(Out):
    demand_by_source = fields.Nested(BoardCountTableSchema)
    missing_by_partner = fields.Nested(BoardShareTableSchema)
    late_by_partner = fields.Nested(BoardShareTableSchema)
    checks_by_agency = fields.Nested(BoardShareTableSchema)
    grades = fields.Nested(BoardCountTableSchema)


class BoardPeriodSchema(Out):
    first = fields.String(metadata={"format": "date"})
    last = fields.String(metadata={"format": "date"})
    label = fields.String()
    short = fields.String()


class BoardPackSchema(Out):
    period = fields.String()
    periods = fields.List(fields.Nested(BoardPeriodSchema), metadata={"description": "Oldest first; the last "
                                                                                      "is the period asked for."})
    demand = fields.List(fields.Integer())
    demand_verdict = fields.String()
    summary = fields.List(fields.String())
    figures = fields.List(fields.Nested(BoardFigureSchema))
    tables = fields.Nested(BoardTablesSchema)
    min_for_percent = fields.Integer()


class ModelInUseSchema(Out):
    mode = fields.String(validate=validate.OneOf(("model", "rules_only")))
    notes = fields.List(fields.String())
    thresholds_file = fields.String()
    levels = fields.Dict(keys=fields.String(), values=fields.String())
    available_versions = fields.List(fields.String())
    model = fields.Dict(allow_none=True, metadata={"description": "The manifest's published parts and the "
                                                                  "model card's path; null when rules-only."})


class GuidanceVersionSchema(Out):
    """A version of the threshold guidance the service has served (issue 16)."""

    label = fields.String(metadata={"description": "The council's label (guidance_version in the file)."})
    sha256 = fields.String(metadata={"description": "SHA-256 of the file; what each recommendation names."})
    first_served_at = _timestamp(metadata={"description": "When the service first used it."})
    in_force = fields.Boolean(metadata={"description": "Whether it is the version in force now."})
    adopted_at = fields.List(_timestamp(), metadata={"description": "Every time it came into force."})
    label_reused = fields.Boolean(metadata={"description": "Another served text carries the same label."})


class GuidanceInForceSchema(Out):
    label = fields.String()
    sha256 = fields.String()
    since = _timestamp(metadata={"description": "When it came into force (its first use after another)."})


class GuidanceVersionsSchema(Out):
    in_force = fields.Nested(GuidanceInForceSchema)
    versions = fields.List(fields.Nested(GuidanceVersionSchema), metadata={"description": "Newest first."})


# ---------------------------------------------------------------------------------------------
# Multi-agency checks (spec section 10, issue 13)
# ---------------------------------------------------------------------------------------------


class CheckAnswerSchema(Out):
    known = fields.Boolean(metadata={"description": "Whether the agency knows the household."})
    findings = fields.List(fields.String(), metadata={"description": "Finding codes (config/thresholds.yaml)."})
    summary = fields.String(allow_none=True)
    late = fields.Boolean(metadata={"description": "Answered after due_at (recorded all the same)."})
    answered_by = fields.String()
    answered_at = _timestamp()


class CheckSchema(Out):
    """A check asked of one agency. The front door reads contact_id and requested_by; an agency
    reads ``contact``: only what the check needs, never the narrative."""

    id = fields.Integer()
    agency = fields.String(validate=validate.OneOf(CHECK_AGENCIES))
    why = fields.String(metadata={"description": "Why this agency is asked (from the recommendation)."})
    reason = fields.String(metadata={"description": "What the front door needs to know."})
    consent = fields.String(validate=validate.OneOf(CONSENT_POSITIONS))
    without_consent_reason = fields.String(allow_none=True)
    due_at = _timestamp()
    requested_at = _timestamp()
    overdue = fields.Boolean(metadata={"description": "Unanswered and past due_at."})
    status = fields.String(validate=validate.OneOf((OPEN, ANSWERED)))
    answer = fields.Nested(CheckAnswerSchema, allow_none=True, metadata={"description": "Null until answered."})
    contact_id = fields.String(metadata={"description": "The front door's reading only."})
    requested_by = fields.String(metadata={"description": "The front door's reading only."})
    contact = fields.Nested(lambda: CheckContactSchema(), metadata={"description": "An agency's reading only."})


class CheckChildSchema(Out):
    child_reference = fields.String(metadata={"description": "The partner's pseudonymous reference."})
    age_years = fields.Integer(allow_none=True, metadata={"description": "Null when unborn or not known."})
    unborn = fields.Boolean()


class CheckContactSchema(Out):
    id = fields.String()
    primary_concern = fields.String()
    urgency = fields.String(allow_none=True, validate=validate.OneOf(URGENCIES))
    children = fields.List(fields.Nested(CheckChildSchema))


class ChecksRequestedSchema(RecordedSchema):
    checks = fields.List(fields.Nested(CheckSchema))


class CheckListSchema(Out):
    status = fields.String(validate=validate.OneOf((OPEN, ANSWERED)))
    count = fields.Integer()
    items = fields.List(fields.Nested(CheckSchema))
