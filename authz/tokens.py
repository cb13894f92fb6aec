"""Signed, expiring bearer tokens (HS256). They say who you are, never what you may
do: role and scope are re-read from the database on every request. A token names the
session version of its account (`sv`); the account's current one must match, so a
deactivation or a password reset ends every session at once, not at expiry."""
from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"
_ISSUER = "zhengjiao"
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1  # app_user.session_version is an integer column


@dataclass(frozen=True)
class TokenClaims:
    kind: str  # "user" or "operator"
    subject_id: int
    tenant_id: int | None
    session_version: int = 0


def issue_token(secret: str, claims: TokenClaims, ttl_seconds: int) -> str:
    now = int(time.time())
    payload = {
        "iss": _ISSUER,
        "sub": f"{claims.kind}:{claims.subject_id}",
        "tid": claims.tenant_id,
        "sv": claims.session_version,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


# Ours are about 200 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 1024
# Tokens whose signature was checked, per process (valid ones only: a stranger cannot
# fill it, since every entry needs the secret).
MAX_VERIFIED = 10_000


def read_token(secret: str, token: str) -> TokenClaims | None:
    """The claims of a token signed with `secret` and not expired, else None. A client
    sends its token with every request: the signature and claims are checked once per
    process, then only the expiry."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    key = (secret, token)
    verified = _VERIFIED.get(key)
    if verified is None:
        verified = _verify(secret, token)
        if verified is None:
            return None
        if len(_VERIFIED) >= MAX_VERIFIED:
            _VERIFIED.clear()
        _VERIFIED[key] = verified
    claims, expires = verified
    return claims if expires > time.time() else None  # as PyJWT: expired at `exp`


_VERIFIED: dict[tuple[str, str], tuple[TokenClaims, int]] = {}


def _verify(secret: str, token: str) -> tuple[TokenClaims, int] | None:
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER, options={"require": ["exp", "sub", "iat", "sv"]}
        )
        kind, _, subject = str(payload["sub"]).partition(":")
        tenant_id, version, expires = payload.get("tid"), payload["sv"], payload["exp"]
        if kind not in ("user", "operator") or not _is_key(int(subject)) or not (tenant_id is None or _is_key(tenant_id)):
            return None
        if type(version) is not int or not 0 <= version <= INT_MAX or type(expires) is not int:
            return None
        return TokenClaims(kind=kind, subject_id=int(subject), tenant_id=tenant_id, session_version=version), expires
    except (jwt.PyJWTError, ValueError, KeyError):
        return None


def _is_key(value: object) -> bool:
    """A row id as the database holds it: a positive bigint (a token signed with a
    leaked key still cannot carry a number that breaks a statement)."""
    return type(value) is int and 0 < value <= BIGINT_MAX


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
