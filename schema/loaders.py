"""Per-request DataLoaders: one query per batch of ids, scoped to the caller."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from schema.context import Context
from tenants.units import UnitRow, units_by_ids

if TYPE_CHECKING:
    from domain.coverage.rules import CoverGap
    from domain.persons.store import PersonRow


def _loader(context: Context, name: str, factory: Callable[[Context], DataLoader]) -> DataLoader:
    if name not in context.loaders:
        context.loaders[name] = factory(context)
    return context.loaders[name]


def loaded(loader: DataLoader, key: Any) -> tuple[bool, Any]:
    """(True, value) when `loader` already holds `key`'s value, else (False, None): a
    resolver can then answer at once, without a coroutine and a task of its own."""
    future = loader.cache_map.get(key) if loader.cache else None
    if future is None or not future.done() or future.cancelled() or future.exception() is not None:
        return False, None
    return True, future.result()


def units(context: Context) -> DataLoader[int, UnitRow | None]:
    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(ids: list[int]) -> list[Any]:
            found = await units_by_ids(ctx.db, principal.tenant_id, principal.scope_path, list(ids))
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    return _loader(context, "units", factory)


def persons(context: Context) -> DataLoader[int, PersonRow | None]:
    from domain.persons.store import persons_by_ids

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(ids: list[int]) -> list[Any]:
            found = await persons_by_ids(ctx.db, principal.tenant_id, principal.scope_path, list(ids))
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    return _loader(context, "persons", factory)


def gap_counts(context: Context, year: int) -> DataLoader[str, dict[CoverGap, int]]:
    """断保/漏保 per unit path: one grouped count for every unit line of a response."""
    from domain.coverage.store import gap_counts as counts

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(paths: list[str]) -> list[Any]:
            found = await counts(ctx.db, principal.tenant_id, year, list(paths))
            return [found[p] for p in paths]

        return DataLoader(load_fn=load)

    return _loader(context, f"gap_counts:{year}", factory)


def person_events(context: Context) -> DataLoader[int, list]:
    """Each person's life events (in force and withdrawn), one query per batch."""
    from domain.persons.life_events import events_of

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(ids: list[int]) -> list[Any]:
            found = await events_of(ctx.db, principal.tenant_id, list(ids))
            return [found[i] for i in ids]

        return DataLoader(load_fn=load)

    return _loader(context, "person_events", factory)


def person_changes(context: Context) -> DataLoader[int, list]:
    """Each person's registration history, one query per batch."""
    from domain.persons.edits import changes_of

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(ids: list[int]) -> list[Any]:
            found = await changes_of(ctx.db, principal.tenant_id, list(ids))
            return [found[i] for i in ids]

        return DataLoader(load_fn=load)

    return _loader(context, "person_changes", factory)


def event_refund_years(context: Context) -> DataLoader[int, list[int]]:
    """Per life event in force: the paid years it offers a refund for."""
    from domain.persons.life_events import paid_years_offered

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(ids: list[int]) -> list[Any]:
            found = await paid_years_offered(ctx.db, principal.tenant_id, list(ids))
            return [found[i] for i in ids]

        return DataLoader(load_fn=load)

    return _loader(context, "event_refund_years", factory)


def _batched(context: Context, name: str, fetch: Callable[[Any, list], Any]) -> DataLoader:
    """A loader whose `fetch(principal, keys)` returns {key: value} for a batch; a key it
    leaves out loads as None."""

    def factory(ctx: Context) -> DataLoader:
        principal = ctx.county_caller()

        async def load(keys: list) -> list[Any]:
            found = await fetch(principal, list(keys))
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load)

    return _loader(context, name, factory)


def subsidy_histories(context: Context, year: int | None) -> DataLoader[str, list]:
    """Each ID number's path across the subsidy lists' versions (Person.subsidyHistory)."""
    from domain.subsidy_lists.store import person_histories

    async def fetch(principal: Any, numbers: list[str]) -> dict:
        return await person_histories(context.db, principal.tenant_id, numbers, year)

    return _batched(context, f"subsidy_histories:{year}", fetch)


def subsidy_candidates(context: Context, year: int) -> DataLoader[int, list]:
    """Every category that applied to each person in `year` (Enrollment.subsidies)."""
    from domain.enrollment.store import explain

    async def fetch(principal: Any, ids: list[int]) -> dict:
        return await explain(context.db, principal.tenant_id, year, ids)

    return _batched(context, f"subsidy_candidates:{year}", fetch)


def exemptions(context: Context, year: int) -> DataLoader[int, Any]:
    """Each newborn's declaration in force for `year` (Enrollment.exemption)."""
    from domain.enrollment.exemptions import exemptions_in_force

    async def fetch(principal: Any, ids: list[int]) -> dict:
        return await exemptions_in_force(context.db, principal.tenant_id, year, ids)

    return _batched(context, f"exemptions:{year}", fetch)


def payments(context: Context) -> DataLoader[int, Any]:
    """Payments by id, in the caller's scope (Refund.payment)."""
    from domain.payments.store import payments_by_ids

    async def fetch(principal: Any, ids: list[int]) -> dict:
        return await payments_by_ids(context.db, principal.tenant_id, principal.scope_path, ids)

    return _batched(context, "payments", fetch)


def payment_refunds(context: Context) -> DataLoader[int, list]:
    """Each payment's refunds, oldest first (Payment.refunds)."""
    from domain.refunds.store import refunds_of_payments

    async def fetch(principal: Any, ids: list[int]) -> dict:
        found: dict[int, list] = {pk: [] for pk in ids}
        for row in await refunds_of_payments(context.db, principal.tenant_id, ids):
            found[row.payment_id].append(row)
        return found

    return _batched(context, "payment_refunds", fetch)


def unit_children(context: Context, first: int, after: tuple[str, int] | None) -> DataLoader[int, Any]:
    """A page of each unit's children (Unit.children), for one page size and cursor."""
    from tenants.units import children_pages

    async def fetch(principal: Any, ids: list[int]) -> dict:
        return await children_pages(context.db, principal.tenant_id, principal.scope_path, ids, first, after)

    return _batched(context, f"unit_children:{first}:{after}", fetch)
