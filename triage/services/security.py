"""Secrets: passwords hashed with Argon2id (memory-hard), API tokens stored only as SHA-256.

Tokens are 256 random bits, so a fast hash is enough to make a stolen table useless;
passwords are chosen by people, so they get a slow, memory-hard hash.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "tri_"
#: (hasher, hash of a password nobody has), made once per hasher: see ``check_sign_in``.
_stand_in: tuple[PasswordHasher, str] | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _stand_in_hash() -> str:
    """A hash with the current hasher's cost, made once (not per request) and verified in place of
    a missing account's, so an unknown email costs exactly what a real one does."""
    global _stand_in
    if _stand_in is None or _stand_in[0] is not _hasher:
        _stand_in = (_hasher, _hasher.hash(secrets.token_urlsafe(32)))
    return _stand_in[1]


def check_sign_in(stored_hash: str | None, password: str) -> bool:
    """``check_password``, doing the same work when there is no such account as when there is.

    One Argon2 verify either way: against the account's hash, or against a stand-in made once
    with the same cost. Hashing a fresh stand-in per request (as this once did) made unknown
    emails twice as slow as real ones, which told a stranger which addresses have accounts.
    """
    if stored_hash:
        return check_password(stored_hash, password)
    check_password(_stand_in_hash(), password)
    return False


def warm_up() -> None:
    """Make the stand-in at start-up, so no visitor's sign-in pays for it."""
    _stand_in_hash()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
