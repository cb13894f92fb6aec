"""`zhengjiao demo`: the demo county 内乡县 (411325), its accounts and synthetic persons.

Everything goes through the services the API uses (onboarding, accounts) inside one
owner transaction; only the persons are bulk-loaded, with COPY. The owner is subject to
row-level security like everyone else (FORCE), and PostgreSQL refuses `COPY … FROM` into a
table whose policies apply to the caller, so the rows are copied into a temporary table
and moved into `person` with one `INSERT … SELECT`, which the policy checks row by row.

All names, ID numbers and villages are synthetic and deterministic from `--seed`.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import shlex
import sys
import time
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

from api.console import complain, report_problems, say, words
from api.database import DatabaseUrls
from api.settings import Settings
from tenants.kinds import DepartmentCode

TENANT_CODE = "411325"
TENANT_NAME = "内乡县"
DEFAULT_PASSWORD = "Demo-2026-zhengjiao"
GRAPHQL_URL = "http://127.0.0.1:8000/graphql"
CREATED_BY = "demo"

# DOMAIN.md §7: 内乡县 2023 quotas, with the statistical township codes.
TOWNSHIPS: list[tuple[str, str, str, int]] = [
    ("100", "城关镇", "TOWN", 43160),
    ("101", "夏馆镇", "TOWN", 24070),
    ("102", "师岗镇", "TOWN", 60200),
    ("103", "马山口镇", "TOWN", 52410),
    ("104", "湍东镇", "TOWN", 62010),
    ("105", "赤眉镇", "TOWN", 45790),
    ("106", "瓦亭镇", "TOWN", 29260),
    ("107", "王店镇", "TOWN", 47320),
    ("108", "灌涨镇", "TOWN", 50150),
    ("109", "桃溪镇", "TOWN", 24130),
    ("110", "岞曲镇", "TOWN", 27330),
    ("111", "余关镇", "TOWN", 33830),
    ("300", "板场乡", "TOWNSHIP", 10680),
    ("301", "大桥乡", "TOWNSHIP", 33950),
    ("302", "赵店乡", "TOWNSHIP", 43850),
    ("306", "七里坪乡", "TOWNSHIP", 15980),
]
SPECIAL_DISABLED = ("901", "县残联")
SPECIAL_EDUCATION = ("902", "县教体局")
SCHOOLS = ["内乡县第一高级中学", "内乡县实验高级中学", "内乡县城关第一初级中学"]
# Shares of the persons that are not in a township: students and the 残联's own list.
SCHOOL_SHARE = 0.03
DISABLED_SHARE = 0.005

# Common surnames, roughly by frequency (weights are relative).
_SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾"
)
_SURNAME_WEIGHTS = list(accumulate(max(1.0, 12.0 - i * 0.2) for i in range(len(_SURNAMES))))
_MALE_GIVEN = "伟强军磊涛明超勇杰刚建国华平志鹏辉斌浩宇俊峰文海波林东亮成新红宏庆春永生振德胜保富贵祥福江山龙"
_FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀英玲桂兰萍红梅燕琳婷雪慧颖洁倩佳欣怡悦凤琴云莲荣花翠珍爱娥月巧"
_VILLAGE_SURNAMES = "张李王刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董潘袁蔡蒋余杜叶程魏苏吕丁任卢姚沈"
_VILLAGE_SUFFIXES = "庄营沟湾岗坪"
_COMMUNITY_NAMES = [
    "东关", "西关", "南关", "北关", "新华", "建设", "人民路", "和平", "文化", "朝阳", "解放", "城南", "城北", "湍河", "菊潭",
]
_ORDINALS = "一二三四五六七八九十"
# Regions of ID numbers: mostly the county itself, some neighbours of 南阳.
_REGIONS = ["411325"] * 46 + ["411323", "411324", "411326", "411302", "411303", "411381"]
_WEIGHTS17 = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

# Birth years 1930–2026, weighted towards the working-age population.
_FIRST_YEAR, _LAST_YEAR = 1930, 2026


def _year_weight(year: int) -> float:
    if year < 1950:
        return 0.25 + (year - 1930) * 0.03
    if year < 1995:
        return 1.0
    if year < 2015:
        return 0.9
    return 0.6


@dataclass
class Leaf:
    code: str
    name: str
    kind: str
    township: str  # township (or special unit) code
    weight: float
    students: bool = False


@dataclass
class DemoPlan:
    units: list  # list[UnitSpec]
    leaves: list[Leaf] = field(default_factory=list)
    first_village_code: str = ""


def build_plan(seed: int) -> DemoPlan:
    """The unit tree (townships, communities, villages, special units, schools)."""
    from tenants.kinds import UnitKind
    from tenants.tree import UnitSpec

    rng = random.Random(seed)
    units: list[UnitSpec] = []
    leaves: list[Leaf] = []
    first_village = ""
    for suffix, name, kind, _quota in TOWNSHIPS:
        code = TENANT_CODE + suffix
        children: list[UnitSpec] = []
        n_communities = rng.randint(3, 5) if suffix == "100" else rng.randint(1, 3)
        community_names = rng.sample(_COMMUNITY_NAMES, n_communities)
        for i, stem in enumerate(community_names, start=1):
            child = UnitSpec(f"{code}{i:03d}", f"{stem}社区", UnitKind.COMMUNITY)
            children.append(child)
            leaves.append(Leaf(child.code, child.name, "COMMUNITY", code, rng.uniform(1.5, 3.0)))
        n_villages = rng.randint(12, 25)
        names: list[str] = []
        if suffix == "100":
            names.append("张庄村")  # the demo collector's village
        while len(names) < n_villages:
            candidate = rng.choice(_VILLAGE_SURNAMES) + rng.choice(_VILLAGE_SUFFIXES) + "村"
            if candidate not in names:
                names.append(candidate)
        for i, village in enumerate(names):
            child = UnitSpec(f"{code}{200 + i:03d}", village, UnitKind.VILLAGE)
            children.append(child)
            leaves.append(Leaf(child.code, child.name, "VILLAGE", code, rng.uniform(0.6, 1.4)))
            if suffix == "100" and i == 0:
                first_village = child.code
        units.append(UnitSpec(code, name, UnitKind(kind), children))
    disabled_code = TENANT_CODE + SPECIAL_DISABLED[0]
    units.append(UnitSpec(disabled_code, SPECIAL_DISABLED[1], UnitKind.SPECIAL))
    leaves.append(Leaf(disabled_code, SPECIAL_DISABLED[1], "SPECIAL", disabled_code, 1.0))
    education_code = TENANT_CODE + SPECIAL_EDUCATION[0]
    schools = [UnitSpec(f"{education_code}{i:03d}", school, UnitKind.SCHOOL) for i, school in enumerate(SCHOOLS, start=1)]
    units.append(UnitSpec(education_code, SPECIAL_EDUCATION[1], UnitKind.SPECIAL, schools))
    for i, school in enumerate(schools):
        leaves.append(Leaf(school.code, school.name, "SCHOOL", education_code, 1.5 if i == 0 else 1.0, students=True))
    return DemoPlan(units=units, leaves=leaves, first_village_code=first_village)


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` in proportion to `weights` (sums exactly)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def person_counts(plan: DemoPlan, persons: int) -> dict[str, int]:
    """Persons per leaf unit: townships in proportion to their 2023 quota."""
    schools = round(persons * SCHOOL_SHARE)
    disabled = round(persons * DISABLED_SHARE)
    rest = persons - schools - disabled
    counts: dict[str, int] = {}
    quotas = [q for *_, q in TOWNSHIPS]
    for (suffix, *_), township_total in zip(TOWNSHIPS, _apportion(rest, quotas)):
        code = TENANT_CODE + suffix
        leaves = [leaf for leaf in plan.leaves if leaf.township == code]
        counts.update(zip((leaf.code for leaf in leaves), _apportion(township_total, [leaf.weight for leaf in leaves])))
    school_leaves = [leaf for leaf in plan.leaves if leaf.students]
    counts.update(zip((leaf.code for leaf in school_leaves), _apportion(schools, [leaf.weight for leaf in school_leaves])))
    counts[TENANT_CODE + SPECIAL_DISABLED[0]] = disabled
    return counts


class PersonFactory:
    """Synthetic persons with valid, unique ID numbers (per factory)."""

    def __init__(self, seed: int, today: date | None = None) -> None:
        self.rng = random.Random(seed * 7919 + 1)
        last = min(date(_LAST_YEAR, 10, 31), (today or date.today()) - timedelta(days=1))
        self.last = last
        years = list(range(_FIRST_YEAR, last.year + 1))
        self.years = years
        self.year_cum = list(accumulate(_year_weight(y) for y in years))
        self.used: dict[tuple[str, int, int], int] = {}
        self._region_sum = {}
        self._date_cache: dict[int, tuple[str, int]] = {}
        self._seq_sum = [sum(int(d) * w for d, w in zip(f"{s:03d}", _WEIGHTS17[14:])) for s in range(1000)]

    def _region(self, region: str) -> int:
        total = self._region_sum.get(region)
        if total is None:
            total = self._region_sum[region] = sum(int(d) * w for d, w in zip(region, _WEIGHTS17[:6]))
        return total

    def _date(self, ordinal: int) -> tuple[str, int]:
        cached = self._date_cache.get(ordinal)
        if cached is None:
            text = date.fromordinal(ordinal).strftime("%Y%m%d")
            cached = self._date_cache[ordinal] = (text, sum(int(d) * w for d, w in zip(text, _WEIGHTS17[6:14])))
        return cached

    def birth_ordinal(self, students: bool) -> int:
        rng = self.rng
        if students:
            year = rng.randint(2008, min(2020, self.last.year))
        else:
            year = self.years[bisect(self.year_cum, rng.random() * self.year_cum[-1])]
        start = date(year, 1, 1).toordinal()
        end = min(date(year, 12, 31), self.last).toordinal()
        return start + int(rng.random() * (end - start + 1))

    def id_number(self, region: str, ordinal: int, male: bool) -> tuple[str, int]:
        """(number, birth ordinal): sequence numbers counted per region, day and sex;
        a full day (499/500 numbers taken) moves the birth to the next day."""
        sex = 1 if male else 0
        while True:
            key = (region, ordinal, sex)
            k = self.used.get(key, 0)
            if k < 499:
                self.used[key] = k + 1
                break
            ordinal += 1
        base = (ordinal * 37 + int(region)) % 500 * 2  # even, varies by day and region
        seq = (base + 2 * k) % 1000 + 1 if male else (base + 2 * k) % 998 + 2
        date_text, date_sum = self._date(ordinal)
        check = _CHECK[(self._region(region) + date_sum + self._seq_sum[seq]) % 11]
        return f"{region}{date_text}{seq:03d}{check}", ordinal

    def name(self, male: bool) -> str:
        rng = self.rng
        surname = _SURNAMES[bisect(_SURNAME_WEIGHTS, rng.random() * _SURNAME_WEIGHTS[-1])]
        pool = _MALE_GIVEN if male else _FEMALE_GIVEN
        if rng.random() < 0.75:
            return surname + rng.choice(pool) + rng.choice(pool)
        return surname + rng.choice(pool)

    def person(self, students: bool) -> tuple[str, str, str, str]:
        """(id_number, name, birth_date ISO, sex)."""
        rng = self.rng
        male = rng.random() < 0.51
        region = _REGIONS[int(rng.random() * len(_REGIONS))]
        number, ordinal = self.id_number(region, self.birth_ordinal(students), male)
        d = self._date(ordinal)[0]
        return number, self.name(male), f"{d[:4]}-{d[4:6]}-{d[6:]}", "M" if male else "F"


def person_lines(
    factory: PersonFactory, leaves: list[tuple[int, str, int, bool]], chunk: int = 5000
) -> Iterator[tuple[str, int]]:
    """COPY text chunks: (text, rows). leaves: (unit_id, unit_path, count, students)."""
    lines: list[str] = []
    for unit_id, path, count, students in leaves:
        tail = f"\t{unit_id}\t{path}\n"
        for _ in range(count):
            number, name, born, sex = factory.person(students)
            lines.append(f"{number}\t{name}\t{born}\t{sex}{tail}")
            if len(lines) >= chunk:
                yield "".join(lines), len(lines)
                lines = []
    if lines:
        yield "".join(lines), len(lines)


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    department: str | None = None
    scope: str | None = None  # unit code


def demo_accounts(plan: DemoPlan) -> list[Account]:
    return [
        Account("admin", "COUNTY_ADMIN"),
        Account("yibao", "DEPARTMENT_STAFF", department="MEDICAL_SECURITY"),
        Account("shuiwu", "DEPARTMENT_STAFF", department="TAX"),
        Account("minzheng", "DEPARTMENT_STAFF", department="CIVIL_AFFAIRS"),
        Account("xiangcun", "DEPARTMENT_STAFF", department="RURAL_REVITALIZATION"),
        Account("caizheng", "DEPARTMENT_STAFF", department="FINANCE"),
        Account("chengguan", "TOWNSHIP_STAFF", scope=TENANT_CODE + "100"),
        Account("zhangzhuang", "VILLAGE_COLLECTOR", scope=plan.first_village_code),
    ]


class _Exists(Exception):
    pass


@dataclass
class _Loaded:
    tenant_id: int
    units: int
    persons: int
    operator_created: bool
    accounts: list[Account]
    unit_names: dict[str, str]


async def _tenant_exists(urls: DatabaseUrls, settings: Settings) -> bool:
    from api.owner import owner_transaction
    from tenants.onboarding import find_tenant

    async with owner_transaction(urls, settings) as db:
        return await find_tenant(db, TENANT_CODE) is not None


_STAGE = """
CREATE TEMPORARY TABLE demo_person (
    id_number text NOT NULL, name text NOT NULL, birth_date date NOT NULL, sex text NOT NULL,
    unit_id bigint NOT NULL, unit_path text COLLATE "C" NOT NULL
) ON COMMIT DROP
"""
_MOVE = """
INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path, created_by)
SELECT %s, id_number, name, birth_date, sex, unit_id, unit_path, %s FROM demo_person
"""


_COUNT_UNITS = """
UPDATE unit u SET persons = c.n
  FROM (SELECT unit_id, count(*) AS n FROM demo_person GROUP BY unit_id) c
 WHERE u.tenant_id = %(t)s AND u.id = c.unit_id
"""


async def _load(urls: DatabaseUrls, settings: Settings, persons: int, seed: int, password: str) -> _Loaded:
    from sqlalchemy import text
    from tqdm import tqdm

    from api.owner import owner_transaction
    from authz.accounts import NewUser, create_operator, create_user
    from authz.passwords import Passwords
    from authz.roles import Role
    from domain.progress.store import load_demo_quotas
    from tenants.onboarding import OnboardRequest, create_tenant, find_tenant
    from tenants.problems import Rejected

    plan = build_plan(seed)
    counts = person_counts(plan, persons)
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    accounts = demo_accounts(plan)
    async with owner_transaction(urls, settings) as db:
        # A large load outlives the serving statement timeout; this transaction only.
        await db.execute(text("SET LOCAL statement_timeout = 0"))
        if await find_tenant(db, TENANT_CODE) is not None:
            raise _Exists()
        try:
            tenant = await create_tenant(
                db, OnboardRequest(code=TENANT_CODE, name=TENANT_NAME, units=plan.units, departments=list(DepartmentCode))
            )
        except Rejected as rejected:
            if any(p.code == "TENANT_EXISTS" for p in rejected.problems):
                raise _Exists() from None
            raise
        rows = (
            await db.execute(
                text("SELECT code, id, path, name FROM unit WHERE tenant_id = :t"), {"t": tenant.id}
            )
        ).all()
        by_code = {r.code: (r.id, r.path) for r in rows}
        unit_names = {r.code: r.name for r in rows}

        operator_exists = await db.scalar(text("SELECT 1 FROM platform_operator WHERE username = 'operator'"))
        if not operator_exists:  # never reset the password of an existing operator
            await create_operator(db, passwords, "operator", password)
        for account in accounts:
            await create_user(
                db,
                passwords,
                tenant.id,
                NewUser(
                    username=account.username,
                    password=password,
                    role=Role(account.role),
                    department=DepartmentCode(account.department) if account.department else None,
                    scope_unit_id=by_code[account.scope][0] if account.scope else None,
                ),
            )

        # Leaves in path order, so the (tenant_id, unit_path, id) index grows at its end.
        students = {leaf.code for leaf in plan.leaves if leaf.students}
        leaves = sorted(
            ((by_code[code][0], by_code[code][1], count, code in students) for code, count in counts.items() if count),
            key=lambda leaf: leaf[1],
        )
        factory = PersonFactory(seed)
        async with db.driver() as conn:
            async with conn.cursor() as cur:
                await cur.execute(_STAGE)
                with tqdm(total=persons, unit=" persons", desc="persons", disable=None, file=sys.stderr) as bar:
                    async with cur.copy(
                        "COPY demo_person (id_number, name, birth_date, sex, unit_id, unit_path) FROM STDIN"
                    ) as copy:
                        for chunk, n in person_lines(factory, leaves):
                            await copy.write(chunk)
                            bar.update(n)
                    bar.set_postfix_str("moving into person, indexing…")
                    await cur.execute(_MOVE, (tenant.id, CREATED_BY))
                    loaded = cur.rowcount
                    await cur.execute(_COUNT_UNITS, {"t": tenant.id})
                    bar.set_postfix_str("done")
        # Fresh statistics before the set-wise enrolment queries plan over 600k rows.
        await db.execute(text("ANALYZE person"))
        await _policies_and_lists(db, tenant.id, seed)
        await load_demo_quotas(db, tenant.id)
    return _Loaded(tenant.id, len(rows), loaded, not operator_exists, accounts, unit_names)


DEMO_POLICIES = ("neixiang-2023.json", "neixiang-2027.json")
_ENROLMENT_TABLES = "year_policy, subsidy_category, enrollment, enrollment_tally"
# The running campaign's lists, as the departments would upload them: share of persons.
DEMO_LISTS = (("tekun", 0.006), ("dibao", 0.03), ("tuopin", 0.05), ("jiance", 0.01))


async def _policies_and_lists(db, tenant_id: int, seed: int) -> None:  # noqa: ANN001
    """内乡 2023 and the 2027 campaign running now, and synthetic 2027 subsidy lists
    uploaded through the same path a department's file takes."""
    from datetime import date

    from sqlalchemy import text

    from api.policies import read_policy_file
    from domain.policy.store import save_policy
    from domain.subsidy_lists.upload import Upload, upload_list
    from tenants.onboarding import bump_authz_version

    policies = Path(__file__).resolve().parent.parent / "examples" / "policies"
    for file_name in DEMO_POLICIES:
        await save_policy(db, tenant_id, read_policy_file(policies / file_name), "demo")
        # Autovacuum never sees this transaction's rows: without statistics the next
        # statements plan over 600,000 enrolments as if there were none.
        await db.execute(text(f"ANALYZE {_ENROLMENT_TABLES}"))
    await bump_authz_version(db, tenant_id)  # the categories' owners join casbin
    year_2027 = read_policy_file(policies / "neixiang-2027.json")
    for index, (category, share) in enumerate(DEMO_LISTS):
        rows = await db.execute(
            text(
                """SELECT name, id_number FROM person WHERE tenant_id = :t
                    AND abs(hashtext(id_number || :salt)) % 10000 < :cut"""
            ),
            {"t": tenant_id, "salt": f"{seed}:{index}", "cut": int(share * 10_000)},
        )
        listed = [f"{r.name},{r.id_number},2026-08-20" for r in rows]
        if not listed:  # a tiny demo county may have nobody in a category
            continue
        lines = ["姓名,证件号码,认定日期", *listed]
        data = ("\n".join(lines) + "\n").encode()
        await upload_list(
            db, tenant_id, year_2027, Upload(2027, category, f"demo-{category}.csv", data), "demo", date(2026, 9, 1)
        )
        await db.execute(text("ANALYZE subsidy_membership, subsidy_list_entry, enrollment"))


async def _vacuum(urls: DatabaseUrls) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(urls.owner, autocommit=True) as conn:
        await conn.execute("SET statement_timeout = 0")
        await conn.execute(
            "VACUUM (ANALYZE) person, unit, enrollment, enrollment_tally, subsidy_membership, subsidy_list_entry,"
            " subsidy_batch, subsidy_category, year_policy"
        )


def _credentials_table(loaded: _Loaded, password: str) -> str:
    header = tuple(words(f"cli.demo.col.{c}") for c in ("username", "tenant", "role", "scope", "password"))
    rows: list[tuple[str, ...]] = []
    operator_password = password if loaded.operator_created else words("cli.demo.password_unchanged")
    rows.append(("operator", "null", "PLATFORM_OPERATOR", words("cli.demo.all_counties"), operator_password))
    for a in loaded.accounts:
        where = _account_scope(a, loaded)
        rows.append((a.username, TENANT_CODE, a.role, where, password))

    def width(text: str) -> int:  # CJK characters take two columns
        return sum(2 if ord(c) > 0x2E80 else 1 for c in text)

    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def _account_scope(account: Account, loaded: _Loaded) -> str:
    if account.department:
        return words("cli.demo.department", department=DepartmentCode(account.department))
    if account.scope:
        return f"{loaded.unit_names.get(account.scope, '')} {account.scope}"
    return words("cli.demo.whole_county")


def _curl_example(password: str) -> str:
    body = {
        "query": "mutation($input: LoginInput!) { login(input: $input) { token userErrors { code message } } }",
        "variables": {"input": {"tenantCode": TENANT_CODE, "username": "admin", "password": password}},
    }
    payload = json.dumps(body, ensure_ascii=False)
    return f"curl -s {GRAPHQL_URL} -H 'content-type: application/json' \\\n  -d {shlex.quote(payload)}"


def run_demo(
    persons: int = 20_000,
    if_empty: bool = False,
    seed: int = 411325,
    *,
    settings: Settings | None = None,
    urls: DatabaseUrls | None = None,
) -> int:
    from api.database import resolve_urls
    from api.migrate import migrate
    from api.settings import get_settings
    from tenants.problems import Rejected

    started = time.perf_counter()
    if persons < 0:
        complain("cli.demo.negative_persons")
        return 2
    settings = settings or get_settings()
    urls = urls or resolve_urls(settings)
    migrate(urls, settings)
    password = os.environ.get("ZHENGJIAO_DEMO_PASSWORD") or DEFAULT_PASSWORD
    from authz.passwords import password_problem

    if (problem := password_problem(password)) is not None:
        complain("cli.demo.weak_password", message=words(problem.message_id, **problem.params))
        return 2
    if asyncio.run(_tenant_exists(urls, settings)):
        return _already(if_empty)
    try:
        loaded = asyncio.run(_load(urls, settings, persons, seed, password))
    except _Exists:
        return _already(if_empty)
    except Rejected as rejected:
        report_problems(rejected.problems)
        return 1
    asyncio.run(_vacuum(urls))
    elapsed = time.perf_counter() - started
    county = {"name": TENANT_NAME, "code": TENANT_CODE}
    say("cli.demo.loaded", **county, units=loaded.units, persons=f"{loaded.persons:,}", seconds=f"{elapsed:.1f}")
    print()
    say("cli.demo.graphql", url=GRAPHQL_URL)
    say("cli.demo.tenant", code=TENANT_CODE)
    print()
    print(_credentials_table(loaded, password))
    print()
    say("cli.demo.login")
    print(_curl_example(password))
    return 0


def _already(if_empty: bool) -> int:
    county = {"name": TENANT_NAME, "code": TENANT_CODE}
    if if_empty:
        say("cli.demo.exists_nothing_to_do", **county)
        return 0
    complain("cli.demo.exists_refused", **county)
    return 1
