"""duplicate check: plans that stay index probes however the tables grow

`match_apply` (0016a) runs in every transaction that enrols someone. PL/pgSQL keeps a
statement's plan for the life of the connection; planned while `payment` and
`enrolment_fingerprint` were small (a new county, a new year, statistics not yet taken),
the join to the person's payment became a scan of the year's accepted payments, each
filtered: 1 ms at first, 10 ms at 47,000 payments (bench/duplicates.py, rounds getting
slower). Each look-up is now written so that it can only be a probe by key: the
payment as a scalar subquery on `payment_one_accepted`, the person's own fingerprint
and the other counties' as subqueries kept apart from the join (`OFFSET 0`: a sublink
with an offset is not pulled up) on the key and on `enrolment_fingerprint_match`. Same results; the function body is
otherwise 0016a's.

Revision ID: 0018b
Revises: 0018a
"""
from alembic import op

revision = "0018b"
down_revision = "0018a"
branch_labels = None
depends_on = None

_YEAR_LOCK = 20160
_LOCK_EACH_UP_TO = 200
_FINGERPRINT = "sha256(k.opad || sha256(k.ipad || convert_to(p.id_number, 'UTF8')))"

_APPLY = f"""
CREATE OR REPLACE FUNCTION match_apply(p_tenant bigint, p_year int, p_enrolled bigint[], p_ended bigint[]) RETURNS void
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
                        WHERE f.tenant_id = p_tenant AND f.year = p_year AND f.person_id = p.id OFFSET 0);
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
            -- enrolled by a payment: since it was paid (a channel file may bring it days later)
            SELECT p_tenant, p_year, x.id, x.fingerprint,
                   coalesce((SELECT pay.paid_at FROM payment pay
                              WHERE pay.tenant_id = p_tenant AND pay.person_id = x.id AND pay.year = p_year
                                AND pay.status = 'ACCEPTED'), clock_timestamp()),
                   x.at_school
              FROM unnest(v_ids, v_fingerprints, v_school) AS x(id, fingerprint, at_school)
            RETURNING person_id, fingerprint, since, at_school
        )
        SELECT m.person_id, m.since, m.at_school, o.tenant_id AS other_tenant, o.person_id AS other_person,
               o.since AS other_since, o.at_school AS other_at_school
          FROM written m
         CROSS JOIN LATERAL (
               SELECT f.tenant_id, f.person_id, f.since, f.at_school FROM enrolment_fingerprint f
                WHERE f.year = p_year AND f.fingerprint = m.fingerprint AND f.tenant_id <> p_tenant
               OFFSET 0) o
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



def upgrade() -> None:
    op.execute(_APPLY)


def downgrade() -> None:
    import importlib

    earlier = importlib.import_module("migrations.versions.0016a_duplicate_enrolment")
    op.execute(earlier._APPLY.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
