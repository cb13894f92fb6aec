"""A token's signature is checked once per process (authz/tokens.py `_verified`); its
expiry on every request."""
from __future__ import annotations

import time

import pytest

from authz import tokens
from authz.tokens import TokenClaims, issue_token, read_token

SECRET = "a-secret-of-the-test-that-is-long-enough-for-hs256"


def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    claims = TokenClaims("user", 7, 3, 2)
    token = issue_token(SECRET, claims, ttl_seconds=60)
    assert read_token(SECRET, token) == claims
    assert read_token(SECRET, token) == claims  # from the cache
    expires = tokens._VERIFIED[(SECRET, token)][1]
    monkeypatch.setattr(tokens.time, "time", lambda: expires)
    assert read_token(SECRET, token) is None  # expired at `exp`, as PyJWT has it
    monkeypatch.setattr(tokens.time, "time", lambda: expires - 1)
    assert read_token(SECRET, token) == claims


def test_the_cache_answers_only_the_same_token_and_secret() -> None:
    token = issue_token(SECRET, TokenClaims("user", 7, 3, 2), ttl_seconds=60)
    assert read_token(SECRET, token) is not None
    assert read_token(SECRET + "x", token) is None  # another secret: not signed with it
    head, body, signature = token.split(".")
    forged = ".".join((head, body, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    assert read_token(SECRET, forged) is None
    assert read_token(SECRET, token) is not None
    assert time.time() < tokens._VERIFIED[(SECRET, token)][1]
    assert (SECRET, forged) not in tokens._VERIFIED and (SECRET + "x", token) not in tokens._VERIFIED


def test_strangers_tokens_are_not_kept_and_long_ones_not_read() -> None:
    """Garbage by the thousand costs the process no memory; a megabyte "token" is not decoded."""
    before = len(tokens._VERIFIED)
    for n in range(2_000):
        assert read_token(SECRET, f"eyJ{n}.garbage.{'x' * 100}") is None
    assert len(tokens._VERIFIED) == before
    huge = issue_token(SECRET, TokenClaims("user", 7, 3, 2), ttl_seconds=60) + "A" * 1_000_000
    assert read_token(SECRET, huge) is None
