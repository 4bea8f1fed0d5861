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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_sign_in(stored_hash: str | None, password: str) -> bool:
    """``check_password``, but as slow when there is no such account as when there is.

    Without this, an unknown email answers faster than a wrong password, which tells a
    stranger which addresses have accounts.
    """
    if stored_hash:
        return check_password(stored_hash, password)
    check_password(_hasher.hash("not a real account"), password)
    return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
