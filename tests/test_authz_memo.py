"""The decision memo of authz/enforcer.py answers exactly as casbin does.

It keys a decision on whether the object's unit path matches the caller's scope, not on
the path itself: sound only while the model reads `r.oscope` through that match alone."""
from __future__ import annotations

import itertools
import random
import re

from authz.enforcer import MODEL, Enforcers, _Cached


def test_the_model_reads_the_object_path_only_through_the_scope_match() -> None:
    matcher = next(line for line in open(MODEL, encoding="utf-8") if line.startswith("m ="))
    assert matcher.count("r.oscope") == 1
    assert "keyMatch(r.oscope, r.uscope)" in matcher
    assert not re.search(r"r\.oscope(?!, r\.uscope\))", matcher)


def _policy_names() -> tuple[set[str], set[str], set[str]]:
    roles, objects, acts = set(), set(), set()
    for line in Enforcers()._templates:
        kind, *rest = (part.strip() for part in line.split(","))
        if kind == "p":
            roles.add(rest[0])
            objects.add(rest[1])
            acts.add(rest[2])
    return roles, objects, acts


def test_memo_answers_as_casbin_for_every_role_right_and_place() -> None:
    roles, objects, acts = _policy_names()
    enforcers = Enforcers()
    users = {f"u:{n}": role for n, role in enumerate(sorted(roles), start=1)}
    grouping = [f"g, {user}, {role}, 7" for user, role in users.items()]
    grouping += ["g, u:1, dept:tax, 7", "g2, cat:2027:dibao, owner:civil_affairs, 7", "g2, cat:2027:dibao, owner:any, 7"]
    cached = _Cached(1, enforcers._build(grouping))
    raw = enforcers._build(grouping)
    scopes = ["/*", "/12/*", "/12/40/*"]
    places = ["/", "/12/", "/12/40/", "/12/41/", "/13/"]
    every = list(itertools.product(users, sorted(objects | {"cat:2027:dibao"}), sorted(acts), scopes, places))
    asked = 0
    for (user, obj, act, scope, place) in random.Random(411325).sample(every, 3_000):
        request = (user, "7", obj, act, scope, place)
        expected = bool(raw.enforce(*request))
        assert cached.enforce(request) is expected, request
        assert cached.enforce(request) is expected, request  # now from the memo
        asked += 1
    assert any(cached.decisions.values()) and not all(cached.decisions.values())
    assert asked == 3_000
    fresh = _Cached(1, enforcers._build(grouping))
    for place in ("/12/40/", "/12/41/", "/12/"):  # inside the township's scope: one entry
        fresh.enforce(("u:1", "7", "person", "read", "/12/*", place))
    for place in ("/13/", "/1/"):  # outside: one more
        fresh.enforce(("u:1", "7", "person", "read", "/12/*", place))
    assert len(fresh.decisions) == 2
