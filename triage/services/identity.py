"""Children's identifiers: checked, hashed with a secret key, and never kept (spec section 9).

An NHS number or UPN is what lets the front door know that the police's child and the
school's child are one child. It is also exactly what must never leak, so the value lives only
for the length of one request: its check digit or letter is checked (python-stdnum), it is
turned into an HMAC-SHA256 keyed by ``TRIAGE_IDENTIFIER_KEY`` (a plain hash of a 10-digit
number is reversed by trying them all), and it is stripped from the contact before anything is
stored, logged or returned. The hash finds the service's own ``ChildRecord``.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from stdnum.gb import nhs, upn

from triage.engine.errors import Invalid
from triage.extensions import db
from triage.record.tables import ChildIdentifier, ChildRecord, new_id, utcnow

KINDS = ("nhs_number", "upn")


def nhs_number_problem(value: str) -> str | None:
    """Why this NHS number is not one (modulus 11 check digit), or None."""
    return None if nhs.is_valid(value) else (
        "Is not a valid NHS number: its last digit is not the modulus 11 check digit of the first nine.")


def upn_problem(value: str) -> str | None:
    """Why this UPN is not one (its check letter), or None.

    Only the check letter is tested, with stdnum's own ``calc_check_digit``: ``upn.validate`` also
    refuses local authority numbers missing from its 2011 list, which would turn away pupils of
    every authority created since (Dorset, Northamptonshire, Cumbria...).
    """
    try:
        ok = upn.calc_check_digit(value[1:]) == value[0]
    except ValueError:  # a temporary UPN's last letter is never I, O or S
        ok = False
    return None if ok else "Is not a valid UPN: its first letter is not the check letter of the other twelve characters."


CHECKS = {"nhs_number": nhs_number_problem, "upn": upn_problem}


def check_identifiers(contact: dict) -> None:
    """422 naming each identifier whose check digit or letter is wrong (the contract checked the shape)."""
    errors: dict[str, list[str]] = {}
    for i, child in enumerate(contact["children"]):
        for kind, value in (child.get("identifiers") or {}).items():
            problem = CHECKS[kind](value)
            if problem:
                errors[f"children.{i}.identifiers.{kind}"] = [problem]
    if errors:
        raise Invalid("An identifier is not valid; see errors.", errors=errors)


def digest(kind: str, value: str) -> str:
    """The keyed hash that stands for one identifier; the kind is part of the message."""
    key = current_app.config["IDENTIFIER_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def child_digests(child: dict) -> list[str]:
    return [digest(kind, value) for kind, value in sorted((child.get("identifiers") or {}).items())]


def without_identifiers(contact: dict) -> dict:
    """The contact as it may be stored and shown: every child's identifiers removed."""
    children = [{k: v for k, v in child.items() if k != "identifiers"} for child in contact["children"]]
    return {**contact, "children": children}


def known_record(digests: list[str], by_digest: dict[str, str]) -> str | None:
    """The child_id the first known hash points at (NHS number first, as ``child_digests`` orders them).

    If two hashes point at different records, the first wins and a person links them; one rule for
    intake and the batch loader (``services.volume``), which keeps ``by_digest`` in memory.
    """
    return next((by_digest[d] for d in digests if d in by_digest), None)


def record_for(digests: list[str]) -> str:
    """The child_id these hashes already point at, else a new record (``find_or_make_record``)."""
    return find_or_make_record(digests)[0]


def known_child(digests: list[str]) -> str | None:
    """The child_id these hashes already point at, or None; reads only (intake's read phase)."""
    if not digests:
        return None
    known = db.session.execute(select(ChildIdentifier.digest, ChildIdentifier.child_id)
                               .where(ChildIdentifier.digest.in_(digests))).all()
    return known_record(digests, {digest: child_id for digest, child_id in known})


_INSERT_RECORD = insert(ChildRecord.__table__)
_INSERT_IDENTIFIER = insert(ChildIdentifier.__table__)


def find_or_make_record(digests: list[str]) -> tuple[str, bool]:
    """The child_id these hashes already point at, else a new record; every hash then points at it.

    Returns ``(child_id, made)``: ``made`` when the record was made here, so that nothing in the
    store can be about it yet (intake then need not ask for its history). A new hash (a UPN first
    seen beside a known NHS number) is added to the found record. Two racing requests for a new
    identifier: the unique digest makes one win, and the other takes the winner's record.
    """
    known = db.session.scalars(select(ChildIdentifier).where(ChildIdentifier.digest.in_(digests))).all() \
        if digests else []
    by_digest = {row.digest: row.child_id for row in known}
    child_id = known_record(digests, by_digest)
    made = child_id is None
    if made:  # plain INSERTs, not the ORM's unit of work: intake makes one for most children it takes
        child_id = new_id()
        db.session.execute(_INSERT_RECORD, {"id": child_id, "created_at": utcnow()})
    for value in (d for d in digests if d not in by_digest):
        try:
            with db.session.begin_nested():
                db.session.execute(_INSERT_IDENTIFIER, {"digest": value, "child_id": child_id, "created_at": utcnow()})
        except IntegrityError:
            child_id = db.session.scalar(select(ChildIdentifier.child_id).where(ChildIdentifier.digest == value))
            made = False  # the winner's record: its contact may already be stored
    return child_id, made
