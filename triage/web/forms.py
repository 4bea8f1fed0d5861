"""The forms on the pages (WTForms, through Flask-WTF).

The forms check only what a page needs before it can call the service: that a field was
filled in, that a level is one of the four. The rules themselves (rationale length, when an
override reason is required, who may review) live once, in ``triage.decisions``, and its
refusals are shown on the form as GOV.UK errors (see ``attach_errors``). CSRF is checked for
every form in ``triage.web.init_app``, so the forms carry the token without checking it twice.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired


class _Form(FlaskForm):
    class Meta:
        csrf = False  # checked once for every form, before the view runs


class LoginForm(_Form):
    email = StringField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


def level_choices(levels: dict[int, dict[str, str]]) -> list[tuple[int, str]]:
    return [(number, f"{entry['name']} (level {number})") for number, entry in sorted(levels.items())]


class DecisionForm(_Form):
    level = RadioField("Level", coerce=int, validators=[InputRequired("Choose a level")])
    rationale = TextAreaField("Rationale")
    override_reason = TextAreaField("Reason for not following the recommendation")
    marac_referral = BooleanField("Refer to MARAC")
    next_steps = TextAreaField("Next steps")
    consent = RadioField("Consent", validate_choice=False)
    consent_reason = TextAreaField("Why consent was not sought, or why early help without consent")
    expected_version = HiddenField()


class ReviewForm(_Form):
    outcome = StringField("Outcome")  # set by the button pressed: Confirm decision or Change decision
    level = RadioField("Level", coerce=int, validate_choice=False)
    rationale = TextAreaField("Rationale")
    expected_version = HiddenField()


class NewUserForm(_Form):
    """Only what must be filled in; the account rules (format, uniqueness, organisation for a
    partner, password length) are ``triage.accounts``'s, shared with the command line."""

    email = StringField("Email address", validators=[DataRequired("Enter an email address")])
    role = RadioField("Role", validators=[InputRequired("Select a role")], validate_choice=False)
    organisation = StringField("Organisation")
    agency_type = RadioField("Agency type", validate_choice=False)  # for the agency role only: accounts checks it
    password = PasswordField("Initial password", validators=[DataRequired("Enter an initial password")])


class NewPasswordForm(_Form):
    """An administrator sets a new password; its rules are ``triage.accounts``'s."""

    password = PasswordField("New password")


class ChangePasswordForm(_Form):
    """A person's own new password, typed twice; the length rule is ``triage.accounts``'s."""

    current_password = PasswordField("Current password")
    new_password = PasswordField("New password")
    confirm_password = PasswordField("New password again")


class InformationRequestForm(_Form):
    fields = SelectMultipleField("Information to ask for", validate_choice=False)
    message = TextAreaField("Message to the referrer")


def expected_version(raw: str | None) -> int | None:
    """The contact version the page was drawn from, so a stale form gets a 409, not a silent overwrite."""
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def attach_errors(form: FlaskForm, errors: dict[str, list[str]] | None) -> None:
    """Put the service's refusals (keyed by field name) on the form's fields, or on the form."""
    for name, messages in (errors or {}).items():
        field = form._fields.get(name.split(".")[0]) if name else None
        if field is None:
            form.form_errors.extend(messages)
            continue
        field.errors = list(field.errors) + list(messages)


def error_list(form: FlaskForm) -> list[dict[str, str]]:
    """The GOV.UK error summary's list: each message links to its field.

    GOV.UK radios give the first option the group's own id, so ``#level`` lands on it.
    """
    items = []
    for field in form:
        for message in field.errors:
            items.append({"text": message, "href": f"#{field.id}"})
    items += [{"text": message, "href": "#main-content"} for message in form.form_errors]
    return items


class ChecksForm(_Form):
    """Ask partner agencies; the rules (consent reason, known agencies) are ``triage.services.checks``'s."""

    agencies = SelectMultipleField("Agencies to ask", validate_choice=False)
    consent = RadioField("Consent to share", validate_choice=False)
    without_consent_reason = TextAreaField("Why the agencies are asked without consent")
    reason = TextAreaField("What the front door needs to know")


class CheckAnswerForm(_Form):
    """An agency's answer; finding codes are checked against config/thresholds.yaml by the service."""

    known = RadioField("Does your agency know this household?", validate_choice=False)
    findings = SelectMultipleField("What your records show", validate_choice=False)
    summary = TextAreaField("Summary")
