"""Passwords (scrypt) and API tokens (random, stored as SHA-256 only).

scrypt parameters follow RFC 7914 section 2's interactive-login guidance (N=2**14, r=8, p=1), as in
``hashlib.scrypt``'s documentation; the salt is 16 random bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["TOKEN_PREFIX", "hash_password", "hash_token", "new_token", "token_prefix", "verify_password"]

TOKEN_PREFIX = "mlt_"
_N, _R, _P = 2**14, 8, 1
_DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64 salt and hash) for ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored`` (constant-time compare); False for malformed or missing hashes."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_token() -> str:
    """A new API token: ``mlt_`` + 43 URL-safe characters (256 random bits). Shown once, never stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of the token (hex): what the database keeps. Tokens are random, so no salt or stretching is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    """The first 12 characters, shown in listings so people can tell their tokens apart."""
    return token[:12]
