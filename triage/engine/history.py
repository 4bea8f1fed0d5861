"""What the front door's own records say about a contact's children before it arrived.

The service looks a child up first (MASH screening starts there), so the recommendation reads
the store history beside what the partner reported. The engine gets it as this plain value,
built by the service from the database (``triage.services`` / ``triage.record``) or by the
synthetic generator in ``training/``; the engine itself never touches a database. Counts are
over every child on the contact (and the child records linked to them), for contacts accepted
before this one; "12 months" is the 365 days before this contact was accepted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownHistory:
    """The store history of a contact's children, as of the moment it was accepted."""

    #: Earlier contacts about any of the children, ever.
    earlier_contacts: int = 0
    #: Earlier contacts about any of the children accepted in the last 12 months.
    contacts_12m: int = 0
    #: Of those, how many were decided at level 3 or 4 (a referral).
    referrals_12m: int = 0
    #: Whether a MARAC referral was decided on any of them in the last 12 months.
    marac_12m: bool = False
    #: The highest level decided on any earlier contact, or None if none was decided.
    highest_level: int | None = None

    @property
    def known(self) -> bool:
        """Whether the front door has had any of these children before."""
        return self.earlier_contacts > 0


#: A contact about children the service has never seen.
UNKNOWN = KnownHistory()
