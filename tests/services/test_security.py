"""Signing in does the same work whether or not the account exists: one Argon2 verify, no hashing.

Counting hash operations is the test (timings belong in ``benchmarks/bench_signin.py``): an unknown
email used to cost a hash and a verify, twice a real account's single verify, which told a
stranger which addresses have accounts.
"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from triage.services import security


class CountingHasher(PasswordHasher):
    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.hashes = self.verifies = 0

    def hash(self, password, *, salt=None):
        self.hashes += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verifies += 1
        return super().verify(hash, password)


@pytest.fixture
def counting(app, people, monkeypatch):
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    security.check_sign_in(None, "warm up: the stand-in hash is made once per hasher, not per request")
    hasher.hashes = hasher.verifies = 0
    return hasher


@pytest.mark.parametrize("who", ["unknown", "wrong password", "right password", "deactivated"])
def test_every_sign_in_is_exactly_one_verify_and_no_hash(app, client, people, counting, who):
    person = people["practitioner"]
    if who == "deactivated":
        from triage.extensions import db
        from triage.record.tables import User

        with app.app_context():
            db.session.get(User, person.id).is_active = False
            db.session.commit()
    email = "nobody@test.invalid" if who == "unknown" else person.email
    password = person.password if who in ("right password", "deactivated") else "not the password"
    client.post("/login", data={"email": email, "password": password})
    assert (counting.hashes, counting.verifies) == (0, 1)


def test_the_stand_in_hash_has_the_hashers_own_cost(counting):
    from argon2 import extract_parameters

    stand_in = extract_parameters(security._stand_in_hash())
    assert (stand_in.time_cost, stand_in.memory_cost) == (counting.time_cost, counting.memory_cost)
