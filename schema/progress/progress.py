"""GraphQL face of progress: quotaProgress, progressHistory, takeProgressSnapshot."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from fractions import Fraction

import strawberry
from strawberry.types import Info

from authz.principal import Principal
from domain.coverage.rules import CoverGap
from domain.money import CENT
from domain.policy import store as policy_store
from domain.progress import rules as progress_rules
from domain.progress import store as progress_store
from domain.progress.rules import Counts, Point, UnitProgress
from schema import loaders
from schema.errors import PublicError, UserError
from schema.mutations import Audit, run_mutation
from schema.tenants import UnitType, visible_unit
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.units import UnitRow


class HistoryInterval(Enum):
    DAY = "DAY"
    WEEK = "WEEK"  # the last snapshot of each ISO week: 一周一排名


HistoryIntervalEnum = strawberry.enum(HistoryInterval, name="HistoryInterval")


def _percent(enrolled: int, target: int) -> Decimal:
    if not target:
        return Decimal("0.00")
    return (Decimal(enrolled * 100) / Decimal(target)).quantize(CENT, rounding=ROUND_HALF_UP)


@strawberry.type(name="QuotaProgress")
class QuotaProgressType:
    unit: UnitType
    target: int = strawberry.field(description="The unit's quota, or the sum of the quotas below it.")
    enrolled: int = strawberry.field(description="PAID + SUBSIDIZED + EXEMPT persons of the unit's subtree.")
    rate: float = strawberry.field(description="enrolled / target; 0 without a target.")
    percent: Decimal = strawberry.field(description="The rate in percent, 2 decimals: \"96.50\".")
    rank: int = strawberry.field(description="Among its siblings: higher rate first, equal rates share a rank.")
    siblings: int = strawberry.field(description="Ranked among this many units.")
    remaining: int = strawberry.field(description="Persons still missing to reach the target.")
    persons: int = strawberry.field(description="Persons who must enrol (应保尽保): every status but EXCUSED.")
    paid: int
    subsidized: int
    unpaid: int
    refunded: int
    exempt: int = strawberry.field(description="Newborns enrolled for their birth year without paying (a parent insured).")
    excused: int = strawberry.field(
        description="Not required to enrol: a life event (died, employee insurance, moved out, enlisted) before the "
        "window closed."
    )
    measured_on: date | None = strawberry.field(description="The snapshot day of the figures; null: live.")
    year: strawberry.Private[int]
    unit_path: strawberry.Private[str]
    called_in: bool = strawberry.field(
        description="In the bottom `callInBottom` of its siblings (the year policy's; ties at that place all in, "
        "units without a target not ranked) and below its quota: called in (内乡 约谈). False without the rule."
    )

    @classmethod
    def of(cls, row: UnitProgress, year: int) -> QuotaProgressType:
        c = row.counts
        return cls(
            unit=UnitType.from_row(row.unit), target=row.target, enrolled=c.enrolled,
            rate=c.enrolled / row.target if row.target else 0.0,  # as float(row.rate), without a Fraction
            percent=_percent(c.enrolled, row.target), rank=row.rank, siblings=row.siblings,
            remaining=max(0, row.target - c.enrolled), persons=c.persons, paid=c.paid, subsidized=c.subsidized,
            unpaid=c.unpaid, refunded=c.refunded, exempt=c.exempt, excused=c.excused, measured_on=row.measured_on,
            called_in=row.called_in,
            year=year, unit_path=row.unit.path,
        )

    @strawberry.field(description="断保 in the unit's subtree now (lapsedPersons lists them); live, also with `asOf`.")
    async def lapsed(self, info: Info) -> int:
        return (await loaders.gap_counts(info.context, self.year).load(self.unit_path))[CoverGap.LAPSED]

    @strawberry.field(description="漏保 in the unit's subtree now (neverEnrolled lists them); live, also with `asOf`.")
    async def never_enrolled(self, info: Info) -> int:
        return (await loaders.gap_counts(info.context, self.year).load(self.unit_path))[CoverGap.NEVER_ENROLLED]


@strawberry.type
class ProgressPoint:
    day: date
    target: int
    enrolled: int
    rate: float
    percent: Decimal
    rank: int | None = strawberry.field(description="Among its siblings that day; null for the whole county.")
    siblings: int | None
    persons: int
    paid: int
    subsidized: int
    exempt: int
    called_in: bool = strawberry.field(
        description="Called in that day among its siblings (see QuotaProgress.calledIn); false for the whole county."
    )

    @classmethod
    def of(cls, point: Point) -> ProgressPoint:
        c: Counts = point.counts
        rate = Fraction(c.enrolled, point.target) if point.target else Fraction(0)
        return cls(
            day=point.day, target=point.target, enrolled=c.enrolled, rate=float(rate),
            percent=_percent(c.enrolled, point.target), rank=point.rank, siblings=point.siblings,
            persons=c.persons, paid=c.paid, subsidized=c.subsidized, exempt=c.exempt, called_in=point.called_in,
        )


async def in_scope_unit(info: Info, principal: Principal, unit: strawberry.ID | None) -> UnitRow | None:
    """The unit asked for, which must be inside the caller's scope; None: the caller's
    own scope unit (the county for county-wide roles)."""
    if unit is None:
        if principal.scope_unit_id is None:
            return None
        return await loaders.units(info.context).load(principal.scope_unit_id)
    row = await visible_unit(info, unit)
    if not principal.covers(row.path):
        raise PublicError(ErrorCode.FORBIDDEN, variant="OUTSIDE_SCOPE")
    return row


async def _call_in_bottom(info: Info, principal: Principal, year: int) -> int | None:
    policy = await info.context.policy(year)
    return policy.call_in_bottom if policy else None


@strawberry.input
class TakeProgressSnapshotInput:
    year: int
    client_mutation_id: str | None = None


@strawberry.type
class TakeProgressSnapshotPayload:
    day: date | None
    units: int
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def _snapshot(info: Info, input: TakeProgressSnapshotInput, audit: Audit) -> tuple[date, int]:
    context = info.context
    principal = await context.require("progress", "snapshot")
    if await policy_store.load_policy(context.db, principal.tenant_id, input.year) is None:
        raise Rejected([Problem(ErrorCode.NO_POLICY, ["year"], {"year": input.year})])
    day = context.services.clock.today()
    units = await progress_store.take_snapshot(context.db, principal.tenant_id, input.year, day)
    audit.entity, audit.entity_id = "progress_snapshot", input.year
    audit.after = {"day": day.isoformat(), "units": units}
    return day, units


@strawberry.type
class ProgressQueries:
    @strawberry.field(
        description="The children of `parent` (the county's top level if null), ranked. Live, or as it stood on `asOf` "
        "(from the daily snapshots). A scoped caller asking above its scope sees its own line with its rank."
    )
    async def quota_progress(
        self, info: Info, year: int, parent: strawberry.ID | None = None, as_of: date | None = None
    ) -> list[QuotaProgressType]:
        context = info.context
        principal = await context.check("progress", "read")
        parent_row = await visible_unit(info, parent) if parent else None
        db, tenant = context.db, principal.tenant_id
        if as_of is None or as_of >= context.services.clock.today():
            rows = await progress_store.live_children(db, tenant, year, parent_row, context.services.children)
        elif await progress_store.has_snapshot(db, tenant, year, as_of):
            rows = await progress_store.snapshot_children(db, tenant, year, parent_row, as_of)
        else:
            raise PublicError(ErrorCode.NO_SNAPSHOT, {"year": year, "asOf": as_of})
        # Flagged among all the siblings, before a scoped caller's view is cut out of them.
        rows = progress_rules.flag_called_in(rows, await _call_in_bottom(info, principal, year))
        return [QuotaProgressType.of(r, year) for r in progress_rules.visible(rows, principal.scope_path)]

    @strawberry.field(description="A unit's daily snapshots (its rank among its siblings each day); the caller's own "
                      "unit (or the county) if null. WEEK: the last snapshot of each week.")
    async def progress_history(
        self,
        info: Info,
        year: int,
        unit: strawberry.ID | None = None,
        since: date | None = None,
        until: date | None = None,
        interval: HistoryIntervalEnum = HistoryInterval.DAY,
    ) -> list[ProgressPoint]:
        context = info.context
        principal = await context.check("progress", "read")
        row = await in_scope_unit(info, principal, unit)
        first, last = since or date(year - 2, 1, 1), until or date(year + 1, 12, 31)
        bottom = await _call_in_bottom(info, principal, year)
        points = await progress_store.unit_history(
            context.db, principal.tenant_id, year, row.id if row else None, first, last, bottom
        )
        if interval == HistoryInterval.WEEK:
            points = progress_rules.weekly(points)
        return [ProgressPoint.of(p) for p in points]


@strawberry.type
class ProgressMutations:
    @strawberry.mutation(description="COUNTY_ADMIN: freeze today's progress of every unit (also `zhengjiao snapshot`).")
    async def take_progress_snapshot(self, info: Info, input: TakeProgressSnapshotInput) -> TakeProgressSnapshotPayload:
        outcome = await run_mutation(info, "takeProgressSnapshot", lambda audit: _snapshot(info, input, audit))
        day, units = outcome.value or (None, 0)
        return TakeProgressSnapshotPayload(day=day, units=units, user_errors=outcome.errors,
                                           client_mutation_id=input.client_mutation_id)
