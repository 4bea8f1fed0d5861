"""Domain errors: what a use case says when it refuses, with no HTTP in it.

Services raise these; the HTTP edge (``triage.http.problems``) maps each class to a status and
answers with a problem document or an error page. ``errors`` maps a field's JSON path to
messages, as in the contract; ``slug`` names the kind of problem for clients that branch on it.
"""

from __future__ import annotations


class Refusal(Exception):
    """What every refusal carries, in the domain (``DomainError``) or at the HTTP edge (``Problem``)."""

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        slug: str | None = None,
        title: str | None = None,
        extra: dict | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.slug = slug
        self.title = title
        self.extra = extra or {}


class DomainError(Refusal):
    """A refusal the person or partner can act on; nothing was changed."""


class Invalid(DomainError):
    """The input breaks a rule of the contract or the guidance (HTTP 422)."""


class NotAllowed(DomainError):
    """This person, in this role, may not do this (HTTP 403)."""


class NotFound(DomainError):
    """Nothing the caller may see is there (HTTP 404)."""


class Conflict(DomainError):
    """The contact's state does not allow this now, usually because someone acted first (HTTP 409)."""
