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
