"""Signed, expiring bearer tokens (HS256). They say who you are, never what you may
do: role and scope are re-read from the database on every request."""
from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"
_ISSUER = "zhengjiao"


@dataclass(frozen=True)
class TokenClaims:
    kind: str  # "user" or "operator"
    subject_id: int
    tenant_id: int | None


def issue_token(secret: str, claims: TokenClaims, ttl_seconds: int) -> str:
    now = int(time.time())
    payload = {
        "iss": _ISSUER,
        "sub": f"{claims.kind}:{claims.subject_id}",
        "tid": claims.tenant_id,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def read_token(secret: str, token: str) -> TokenClaims | None:
    try:
        payload = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER, options={"require": ["exp", "sub", "iat"]}
        )
        kind, _, subject = str(payload["sub"]).partition(":")
        if kind not in ("user", "operator"):
            return None
        tenant_id = payload.get("tid")
        return TokenClaims(kind=kind, subject_id=int(subject), tenant_id=int(tenant_id) if tenant_id else None)
    except (jwt.PyJWTError, ValueError, KeyError):
        return None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
