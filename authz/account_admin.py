"""Day two of an account: a county admin deactivates, reactivates and resets it; its
user changes their own password; the admin lists the county's accounts.

Every change that must end sessions moves `session_version` (tokens carry the one they
were issued under; `authz/principal.load_user` compares). Only hashes are written and
nothing here logs or returns a password.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import text

from authz.login_guard import Attempt, Filing, LoginGuard
from authz.password_rules import MAX_PASSWORD_LENGTH, password_problem
from authz.passwords import Passwords
from authz.roles import Role
from authz.throttle_rules import Subject
from authz.throttle_store import clear
from tenants.onboarding import bump_authz_version
from tenants.pages import Page
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    role: Role
    department: str | None
    scope_unit_id: int | None
    active: bool
    last_login_at: datetime | None
    must_change_password: bool
    session_version: int

    def audited(self) -> dict:
        """What the audit log keeps of an account's state (never a password or hash)."""
        return {
            "username": self.username,
            "active": self.active,
            "mustChangePassword": self.must_change_password,
            "sessionVersion": self.session_version,
        }


_COLUMNS = """u.id, u.username, u.role, d.code AS department, u.scope_unit_id, u.active, u.last_login_at,
              u.must_change_password, u.session_version"""
_FROM = "app_user u LEFT JOIN department d ON d.tenant_id = u.tenant_id AND d.id = u.department_id"


def _row(r) -> UserRow:  # noqa: ANN001 (a result row)
    return UserRow(
        r.id, r.username, Role(r.role), r.department, r.scope_unit_id, r.active, r.last_login_at,
        r.must_change_password, r.session_version,
    )


async def users_by_ids(db: Db, tenant_id: int, ids: list[int]) -> dict[int, UserRow]:
    rows = await db.execute(
        text(f"SELECT {_COLUMNS} FROM {_FROM} WHERE u.tenant_id = :t AND u.id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "ids": ids},
    )
    return {r.id: _row(r) for r in rows}


async def _locked_user(db: Db, tenant_id: int, user_id: int | None) -> UserRow:
    """The account, its row locked for this change; another county's id is not found."""
    found = None
    if user_id is not None:
        found = (
            await db.execute(
                text(f"SELECT {_COLUMNS} FROM {_FROM} WHERE u.tenant_id = :t AND u.id = :id FOR UPDATE OF u"),
                {"t": tenant_id, "id": user_id},
            )
        ).first()
    if found is None:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["user"], variant="USER")])
    return _row(found)


_SET = text(
    """
    UPDATE app_user
       SET active = :active,
           password_hash = coalesce(:hash, password_hash),
           must_change_password = coalesce(:must_change, must_change_password),
           session_version = session_version + CAST(:bump AS int)
     WHERE tenant_id = :t AND id = :id
    """
)


async def _set(
    db: Db, tenant_id: int, user: UserRow, *, active: bool | None = None, password_hash: str | None = None,
    must_change: bool | None = None, end_sessions: bool = False,
) -> UserRow:
    params = {
        "t": tenant_id, "id": user.id, "active": user.active if active is None else active, "hash": password_hash,
        "must_change": must_change, "bump": 1 if end_sessions else 0,
    }
    await db.execute(_SET, params)
    return (await users_by_ids(db, tenant_id, [user.id]))[user.id]


# -- the county admin ---------------------------------------------------------------------


async def deactivate(db: Db, tenant_id: int, actor_id: int, user_id: int | None) -> tuple[UserRow, UserRow]:
    """(before, after). The account can no longer log in and its tokens are refused from
    this transaction on. Deactivating an inactive account changes nothing."""
    user = await _locked_user(db, tenant_id, user_id)
    if user.id == actor_id:
        raise Rejected([Problem(ErrorCode.OWN_ACCOUNT, ["user"], variant="DEACTIVATE")])
    if not user.active:
        return user, user
    after = await _set(db, tenant_id, user, active=False, end_sessions=True)
    await bump_authz_version(db, tenant_id)  # its casbin groupings go
    return user, after


async def reactivate(db: Db, tenant_id: int, user_id: int | None) -> tuple[UserRow, UserRow]:
    """(before, after). Logins work again; tokens of before the deactivation stay refused."""
    user = await _locked_user(db, tenant_id, user_id)
    if user.active:
        return user, user
    after = await _set(db, tenant_id, user, active=True)
    await bump_authz_version(db, tenant_id)
    return user, after


async def reset_password(
    db: Db, passwords: Passwords, guard: LoginGuard, tenant_code: str, tenant_id: int, actor_id: int,
    user_id: int | None, temporary: str,
) -> tuple[UserRow, UserRow]:
    """(before, after). A temporary password the user must change at their next login;
    their sessions end, and their account's failed-login count is cleared (a reset is
    how a locked-out clerk gets back in)."""
    user = await _locked_user(db, tenant_id, user_id)
    if user.id == actor_id:
        raise Rejected([Problem(ErrorCode.OWN_ACCOUNT, ["user"], variant="RESET")])
    if (problem := password_problem(temporary, user.username)) is not None:
        raise Rejected([replace(problem, field=["temporaryPassword"])])
    hashed = await passwords.hash_async(temporary)
    after = await _set(db, tenant_id, user, password_hash=hashed, must_change=True, end_sessions=True)
    keys = guard.keys(Attempt(tenant_code, user.username, None))
    await clear(db, keys[Subject.ACCOUNT])
    return user, after


# -- the user -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OldPassword:
    """Who asks to change their password, from where."""

    tenant_id: int
    tenant_code: str
    user_id: int
    username: str
    address: str | None
    correlation_id: str | None


async def old_password_matches(db: Db, passwords: Passwords, guard: LoginGuard, who: OldPassword, old: str) -> bool:
    """The login throttle guards this check as it guards logins (the same account and
    address counters): a throttled attempt is not checked and answers like a wrong one.
    Run it outside the mutation's savepoint, so a refusal still counts."""
    now = guard.now()
    attempt = Attempt(who.tenant_code, who.username, who.address)
    keys = guard.keys(attempt)
    filing = Filing(who.tenant_id, who.user_id, who.username, who.correlation_id)
    if not await guard.admit(db, keys, now, filing):
        return False
    stored = await db.scalar(
        text("SELECT password_hash FROM app_user WHERE tenant_id = :t AND id = :id AND active"),
        {"t": who.tenant_id, "id": who.user_id},
    )
    ok = len(old) <= MAX_PASSWORD_LENGTH and await passwords.verify_async(stored, old)
    if not ok:
        await guard.failed(db, keys, now, filing)
        return False
    await guard.succeeded(db, keys)
    return True


async def change_own_password(
    db: Db, passwords: Passwords, tenant_id: int, user_id: int, old_matches: bool, old: str, new: str,
) -> tuple[UserRow, UserRow]:
    """(before, after): the new password set, the reset's obligation gone, every other
    session ended (the caller gets a token of the new session version)."""
    user = await _locked_user(db, tenant_id, user_id)
    problems = [] if old_matches else [Problem(ErrorCode.INVALID_CREDENTIALS, ["oldPassword"], variant="OLD_PASSWORD")]
    if (problem := password_problem(new, user.username)) is not None:
        problems.append(replace(problem, field=["newPassword"]))
    elif new == old:
        problems.append(Problem(ErrorCode.WEAK_PASSWORD, ["newPassword"], variant="SAME_AS_OLD"))
    if problems:
        raise Rejected(problems)
    hashed = await passwords.hash_async(new)
    after = await _set(db, tenant_id, user, password_hash=hashed, must_change=False, end_sessions=True)
    return user, after


# -- the list -------------------------------------------------------------------------------


async def list_users(
    db: Db, tenant_id: int, role: Role | None, active: bool | None, first: int, after: tuple[str, int] | None,
) -> Page[UserRow]:
    """A county's accounts by username (keyset on username, id), with the count of all
    that meet the filters."""
    where = (
        "u.tenant_id = :t AND (CAST(:role AS text) IS NULL OR u.role = :role)"
        " AND (CAST(:active AS boolean) IS NULL OR u.active = :active)"
    )
    params = {"t": tenant_id, "role": role.value if role else None, "active": active}
    page_where = where + (" AND (u.username, u.id) > (:after_name, :after_id)" if after else "")
    found = (
        await db.execute(
            text(f"SELECT {_COLUMNS} FROM {_FROM} WHERE {page_where} ORDER BY u.username, u.id LIMIT :page_limit"),
            {**params, "after_name": after[0] if after else None, "after_id": after[1] if after else None,
             "page_limit": first + 1},
        )
    ).all()
    total = await db.scalar(text(f"SELECT count(*) FROM {_FROM} WHERE {where}"), params)
    return Page([_row(r) for r in found[:first]], len(found) > first, total)
