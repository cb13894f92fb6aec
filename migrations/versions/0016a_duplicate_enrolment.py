"""duplicate enrolment across counties (跨统筹区重复参保): fingerprints, cases, definer functions

Revision ID: 0016a
Revises: 0016b
Create Date: 2026-12-02 03:10:00.000000

Privacy design: `enrolment_fingerprint` holds, per county, year and enrolled person,
HMAC-SHA256(platform secret, ID number) — never the number. The serving role has no
grant on it nor on `match_key`; triggers on `enrollment` (definer functions owned by
the owner role) keep it in the transaction that changes an enrolment, and open a
`duplicate_case` on both sides when a fingerprint is enrolled in another county too.
A county asks only about its own persons (`match_elsewhere`) and closes only its own
cases (`match_resolve_case`, which closes the other side's too).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from api.settings import DEVELOPMENT_MATCH_SECRET
from domain.enrollment.sql import ENROLLED_SQL
from domain.matching.rules import fingerprint_pads
from migrations.rls import app_role, protect_tenant_table

revision = "0016a"
down_revision = "0016b"
branch_labels = None
depends_on = None

# advisory lock classes (pg_advisory_xact_lock(int, int)): one year's enrolments, one pair of cases
_YEAR_LOCK = 20160
_PAIR_LOCK = 20161
# Up to this many persons enrolled in one statement lock their fingerprints one by one
# (a payment, a small list); more lock the whole year (a 100,000-row list), so two
# counties enrolling one person at the same moment still see each other.
_LOCK_EACH_UP_TO = 200

_FINGERPRINT = "sha256(k.opad || sha256(k.ipad || convert_to(p.id_number, 'UTF8')))"

_APPLY = f"""
CREATE FUNCTION match_apply(p_tenant bigint, p_year int, p_enrolled bigint[], p_ended bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_bound text := coalesce(current_setting('app.tenant_id', true), '');
    r record;
    v_pair uuid;
    v_ids bigint[];
    v_fingerprints bytea[];
    v_school boolean[];
BEGIN
    IF cardinality(p_ended) > 0 THEN
        DELETE FROM enrolment_fingerprint f USING unnest(p_ended) AS e(id)
         WHERE f.tenant_id = p_tenant AND f.year = p_year AND f.person_id = e.id;
        -- The enrolment ended here (a refund approved, a list version): no duplicate any
        -- more; open cases close, released here, kept there.
        FOR r IN
            UPDATE duplicate_case c
               SET status = 'RELEASED', resolved_here = true, resolved_by = 'system', resolved_at = now()
              FROM unnest(p_ended) AS e(id)
             WHERE c.tenant_id = p_tenant AND c.year = p_year AND c.person_id = e.id AND c.status = 'OPEN'
            RETURNING c.pair_id, c.other_tenant_id
        LOOP
            PERFORM set_config('app.tenant_id', r.other_tenant_id::text, true);
            UPDATE duplicate_case
               SET status = 'KEPT', resolved_here = false, resolved_at = now()
             WHERE tenant_id = r.other_tenant_id AND pair_id = r.pair_id AND status = 'OPEN';
            PERFORM set_config('app.tenant_id', v_bound, true);
        END LOOP;
    END IF;
    IF coalesce(cardinality(p_enrolled), 0) = 0 THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM match_key) THEN
        RAISE EXCEPTION 'match_key is not installed (zhengjiao migrate installs it)';
    END IF;
    -- The persons' fingerprints, once (those already on record were matched then).
    SELECT array_agg(p.id), array_agg({_FINGERPRINT}), array_agg(u.kind = 'SCHOOL')
      INTO v_ids, v_fingerprints, v_school
      FROM unnest(p_enrolled) AS e(id)
      JOIN person p ON p.tenant_id = p_tenant AND p.id = e.id
      JOIN unit u ON u.tenant_id = p_tenant AND u.id = p.unit_id
     CROSS JOIN match_key k
     WHERE NOT EXISTS (SELECT 1 FROM enrolment_fingerprint f
                        WHERE f.tenant_id = p_tenant AND f.year = p_year AND f.person_id = p.id);
    IF v_ids IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(v_ids) <= {_LOCK_EACH_UP_TO} THEN
        PERFORM pg_advisory_xact_lock_shared({_YEAR_LOCK}, p_year);
        FOR r IN
            SELECT DISTINCT ('x' || encode(substr(f, 1, 8), 'hex'))::bit(64)::bigint AS key
              FROM unnest(v_fingerprints) AS f ORDER BY 1
        LOOP
            PERFORM pg_advisory_xact_lock(r.key);
        END LOOP;
    ELSE
        PERFORM pg_advisory_xact_lock({_YEAR_LOCK}, p_year);
    END IF;
    -- (the enrolment rows are locked by the statement that fired this: no concurrent
    -- insert of the same person-year, so no ON CONFLICT and its per-row cost)
    FOR r IN
        WITH written AS (
            INSERT INTO enrolment_fingerprint (tenant_id, year, person_id, fingerprint, since, at_school)
            SELECT p_tenant, p_year, x.id, x.fingerprint, coalesce(pay.paid_at, clock_timestamp()), x.at_school
              FROM unnest(v_ids, v_fingerprints, v_school) AS x(id, fingerprint, at_school)
              -- enrolled by a payment: since it was paid (a channel file may bring it days later)
              LEFT JOIN payment pay ON pay.tenant_id = p_tenant AND pay.person_id = x.id AND pay.year = p_year
                                   AND pay.status = 'ACCEPTED'
            RETURNING person_id, fingerprint, since, at_school
        )
        SELECT m.person_id, m.since, m.at_school, o.tenant_id AS other_tenant, o.person_id AS other_person,
               o.since AS other_since, o.at_school AS other_at_school
          FROM written m
          JOIN enrolment_fingerprint o ON o.year = p_year AND o.fingerprint = m.fingerprint AND o.tenant_id <> p_tenant
    LOOP
        v_pair := gen_random_uuid();
        INSERT INTO duplicate_case (tenant_id, year, person_id, pair_id, other_tenant_id, since, at_school,
                                    other_since, other_at_school)
        VALUES (p_tenant, p_year, r.person_id, v_pair, r.other_tenant, r.since, r.at_school,
                r.other_since, r.other_at_school)
        ON CONFLICT (tenant_id, year, person_id, other_tenant_id) WHERE status = 'OPEN' DO NOTHING;
        IF FOUND THEN
            -- the other county's side, under its own row-level security binding
            PERFORM set_config('app.tenant_id', r.other_tenant::text, true);
            INSERT INTO duplicate_case (tenant_id, year, person_id, pair_id, other_tenant_id, since, at_school,
                                        other_since, other_at_school)
            VALUES (r.other_tenant, p_year, r.other_person, v_pair, p_tenant, r.other_since, r.other_at_school,
                    r.since, r.at_school)
            ON CONFLICT (tenant_id, year, person_id, other_tenant_id) WHERE status = 'OPEN' DO NOTHING;
            PERFORM set_config('app.tenant_id', v_bound, true);
        END IF;
    END LOOP;
END $$
"""

_INSERTED = f"""
CREATE FUNCTION match_enrollment_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE g record;
BEGIN
    FOR g IN SELECT tenant_id, year, array_agg(person_id) AS ids FROM new_rows
              WHERE status IN {ENROLLED_SQL} GROUP BY tenant_id, year
    LOOP
        PERFORM match_apply(g.tenant_id, g.year, g.ids, '{{}}');
    END LOOP;
    RETURN NULL;
END $$
"""

_UPDATED = f"""
CREATE FUNCTION match_enrollment_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    g record;
    v_nestloop text := current_setting('enable_nestloop');
    v_tenants bigint[];
    v_years int[];
    v_ids bigint[];
    v_enrolled boolean[];
BEGIN
    -- The transition tables carry no statistics: a nested loop over a 10,000-row
    -- payment file's old and new rows took 15 s. Joined by hashing, for this statement
    -- only, and planned for each call (a plan cached after one-row payments would not do).
    PERFORM set_config('enable_nestloop', 'off', true);
    SELECT array_agg(n.tenant_id), array_agg(n.year), array_agg(n.person_id), array_agg(n.status IN {ENROLLED_SQL})
      INTO v_tenants, v_years, v_ids, v_enrolled
      FROM new_rows n
      JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.year = n.year AND o.person_id = n.person_id
     WHERE (n.status IN {ENROLLED_SQL}) <> (o.status IN {ENROLLED_SQL});
    PERFORM set_config('enable_nestloop', v_nestloop, true);
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    FOR g IN SELECT x.tenant_id, x.year,
                    coalesce(array_agg(x.person_id) FILTER (WHERE x.enrolled), '{{}}') AS enrolled,
                    coalesce(array_agg(x.person_id) FILTER (WHERE NOT x.enrolled), '{{}}') AS ended
               FROM unnest(v_tenants, v_years, v_ids, v_enrolled) AS x(tenant_id, year, person_id, enrolled)
              GROUP BY x.tenant_id, x.year
    LOOP
        PERFORM match_apply(g.tenant_id, g.year, g.enrolled, g.ended);
    END LOOP;
    RETURN NULL;
END $$
"""

_DELETED = f"""
CREATE FUNCTION match_enrollment_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE g record;
BEGIN
    FOR g IN SELECT tenant_id, year, array_agg(person_id) AS ids FROM old_rows
              WHERE status IN {ENROLLED_SQL} GROUP BY tenant_id, year
    LOOP
        PERFORM match_apply(g.tenant_id, g.year, '{{}}', g.ids);
    END LOOP;
    RETURN NULL;
END $$
"""

_ELSEWHERE = """
CREATE FUNCTION match_elsewhere(p_year int, p_person_ids bigint[] DEFAULT NULL)
RETURNS TABLE (person_id bigint, other_tenant_code text, other_tenant_name text, other_since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    -- Only the calling county's own enrolled persons (its session binding), and of the
    -- other county only its code, name and since when: never its person or the number.
    SELECT m.person_id, t.code, t.name, o.since
      FROM enrolment_fingerprint m
      JOIN enrolment_fingerprint o ON o.year = m.year AND o.fingerprint = m.fingerprint AND o.tenant_id <> m.tenant_id
      JOIN tenant t ON t.id = o.tenant_id
     WHERE m.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
       AND m.year = p_year
       AND (p_person_ids IS NULL OR m.person_id = ANY(p_person_ids))
     ORDER BY m.person_id, t.code
$$
"""

_RESOLVE = f"""
CREATE FUNCTION match_resolve_case(p_case bigint, p_keep boolean, p_note text, p_by text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_bound text := coalesce(current_setting('app.tenant_id', true), '');
    v_tenant bigint := NULLIF(v_bound, '')::bigint;
    c duplicate_case;
BEGIN
    SELECT * INTO c FROM duplicate_case WHERE tenant_id = v_tenant AND id = p_case;
    IF NOT FOUND THEN
        RETURN 'NOT_FOUND';
    END IF;
    -- Both counties resolving one pair at once: one waits, then finds it closed.
    PERFORM pg_advisory_xact_lock({_PAIR_LOCK}, hashtext(c.pair_id::text));
    SELECT * INTO c FROM duplicate_case WHERE tenant_id = v_tenant AND id = p_case;
    IF c.status <> 'OPEN' THEN
        RETURN c.status;
    END IF;
    UPDATE duplicate_case
       SET status = CASE WHEN p_keep THEN 'KEPT' ELSE 'RELEASED' END, resolved_here = true,
           note = p_note, resolved_by = p_by, resolved_at = now()
     WHERE tenant_id = v_tenant AND id = p_case;
    PERFORM set_config('app.tenant_id', c.other_tenant_id::text, true);
    UPDATE duplicate_case
       SET status = CASE WHEN p_keep THEN 'RELEASED' ELSE 'KEPT' END, resolved_here = false, resolved_at = now()
     WHERE tenant_id = c.other_tenant_id AND pair_id = c.pair_id AND status = 'OPEN';
    PERFORM set_config('app.tenant_id', v_bound, true);
    RETURN 'RESOLVED';
END $$
"""

# Run by `zhengjiao migrate` (the owner) when the secret changed: every fingerprint again.
_REFINGERPRINT = f"""
CREATE FUNCTION match_refingerprint() RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_bound text := coalesce(current_setting('app.tenant_id', true), '');
    t record;
BEGIN
    FOR t IN SELECT DISTINCT tenant_id FROM enrolment_fingerprint LOOP
        PERFORM set_config('app.tenant_id', t.tenant_id::text, true);
        UPDATE enrolment_fingerprint f SET fingerprint = {_FINGERPRINT}
          FROM person p, match_key k
         WHERE f.tenant_id = t.tenant_id AND p.tenant_id = f.tenant_id AND p.id = f.person_id;
    END LOOP;
    PERFORM set_config('app.tenant_id', v_bound, true);
END $$
"""

_FUNCTIONS = (
    "match_apply(bigint, int, bigint[], bigint[])",
    "match_enrollment_inserted()",
    "match_enrollment_updated()",
    "match_enrollment_deleted()",
    "match_elsewhere(int, bigint[])",
    "match_resolve_case(bigint, boolean, text, text)",
    "match_refingerprint()",
)


def upgrade() -> None:
    op.create_table(
        "match_key",
        sa.Column("id", sa.Boolean(), nullable=False),
        sa.Column("ipad", sa.LargeBinary(), nullable=False),
        sa.Column("opad", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id", name="match_key_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "enrolment_fingerprint",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_school", sa.Boolean(), nullable=False),
        # (no key to person: one check per row, 10 % of a 10,000-row import's check; persons
        # are never deleted, and the rows come from person itself)
        sa.PrimaryKeyConstraint("tenant_id", "year", "person_id"),
    )
    op.create_index("enrolment_fingerprint_match", "enrolment_fingerprint", ["year", "fingerprint"])
    # The development key until `zhengjiao migrate` installs the configured one (api/migrate.py).
    ipad, opad = fingerprint_pads(DEVELOPMENT_MATCH_SECRET)
    op.get_bind().execute(sa.text("INSERT INTO match_key (id, ipad, opad) VALUES (true, :i, :o)"), {"i": ipad, "o": opad})
    op.create_table(
        "duplicate_case",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("pair_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("other_tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_school", sa.Boolean(), nullable=False),
        sa.Column("other_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("other_at_school", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Text(), server_default="OPEN", nullable=False),
        sa.Column("resolved_here", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('OPEN', 'KEPT', 'RELEASED')", name="duplicate_case_status_check"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("duplicate_case_list", "duplicate_case", ["tenant_id", "year", "status", "id"])
    op.create_index(
        "duplicate_case_one_open", "duplicate_case", ["tenant_id", "year", "person_id", "other_tenant_id"],
        unique=True, postgresql_where=sa.text("status = 'OPEN'"),
    )
    op.create_index("duplicate_case_pair", "duplicate_case", ["pair_id"])

    # Cases: each county reads its own side; only the definer functions write them.
    protect_tenant_table("duplicate_case", verbs="SELECT")
    # Fingerprints: row-level security like every county table, plus a policy for the
    # owner's definer functions, which match across counties. No grant to the serving role.
    op.execute("ALTER TABLE enrolment_fingerprint ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE enrolment_fingerprint FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON enrolment_fingerprint"
        " USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint)"
    )
    op.execute("CREATE POLICY cross_county_matching ON enrolment_fingerprint TO CURRENT_USER USING (true)")
    op.execute("REVOKE ALL ON match_key, enrolment_fingerprint FROM PUBLIC")

    for sql in (_APPLY, _INSERTED, _UPDATED, _DELETED, _ELSEWHERE, _RESOLVE, _REFINGERPRINT):
        op.execute(sql)
    for signature in _FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for signature in ("match_elsewhere(int, bigint[])", "match_resolve_case(bigint, boolean, text, text)"):
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{app_role()}"')
    op.execute(
        "CREATE TRIGGER enrollment_match_inserted AFTER INSERT ON enrollment"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION match_enrollment_inserted()"
    )
    op.execute(
        "CREATE TRIGGER enrollment_match_updated AFTER UPDATE ON enrollment"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION match_enrollment_updated()"
    )
    op.execute(
        "CREATE TRIGGER enrollment_match_deleted AFTER DELETE ON enrollment"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION match_enrollment_deleted()"
    )


def downgrade() -> None:
    for trigger in ("enrollment_match_inserted", "enrollment_match_updated", "enrollment_match_deleted"):
        op.execute(f"DROP TRIGGER {trigger} ON enrollment")
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_table("duplicate_case")
    op.drop_table("enrolment_fingerprint")
    op.drop_table("match_key")
