"""duplicate check: a channel file's persons read as one set, fingerprints matched by a hash index

`match_apply` (0016a, 0018b) cost a 5,000-row payment file 60 – 70 ms, about 30 % of
the import. Measured statement by statement (bench/README.md): the btree on (year,
fingerprint) took a quarter of it, each random 32-byte key landing on a random page,
and the persons were read by one nested probe each. Now:

- the fingerprints are matched through a hash index (equality is the only question
  ever asked of them): cheaper to insert into and to probe;
- the persons are read with `id = ANY(…)`: one index scan for the set (a third of the
  time of a probe per person), and their fingerprints written in person order;
- the ended persons are deleted and their cases closed with `= ANY(…)` likewise.

Every statement stays a plan that cannot turn into a scan whatever the arrays' sizes
(0018b): planning each call for its arrays (`force_custom_plan`) was tried and made a
single payment's check 3 – 8 ms as the tables grew. Same results: the function body is
otherwise 0018b's.

Revision ID: 0019a
Revises: 0018b
"""
from alembic import op

revision = "0019a"
down_revision = "0018b"
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
    v_new bigint[];
    v_ids bigint[];
    v_fingerprints bytea[];
    v_school boolean[];
BEGIN
    IF cardinality(p_ended) > 0 THEN
        DELETE FROM enrolment_fingerprint f
         WHERE f.tenant_id = p_tenant AND f.year = p_year AND f.person_id = ANY(p_ended);
        -- The enrolment ended here (a refund approved, a list version): no duplicate any
        -- more; open cases close, released here, kept there.
        FOR r IN
            UPDATE duplicate_case c
               SET status = 'RELEASED', resolved_here = true, resolved_by = 'system', resolved_at = now()
             WHERE c.tenant_id = p_tenant AND c.year = p_year AND c.person_id = ANY(p_ended) AND c.status = 'OPEN'
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
    -- Those already on record were matched then.
    SELECT array_agg(e.id ORDER BY e.id) INTO v_new
      FROM unnest(p_enrolled) AS e(id)
     WHERE NOT EXISTS (SELECT 1 FROM enrolment_fingerprint f
                        WHERE f.tenant_id = p_tenant AND f.year = p_year AND f.person_id = e.id);
    IF v_new IS NULL THEN
        RETURN;
    END IF;
    SELECT array_agg(p.id ORDER BY p.id), array_agg({_FINGERPRINT} ORDER BY p.id),
           array_agg(u.kind = 'SCHOOL' ORDER BY p.id)
      INTO v_ids, v_fingerprints, v_school
      FROM person p
      JOIN unit u ON u.tenant_id = p_tenant AND u.id = p.unit_id
     CROSS JOIN match_key k
     WHERE p.tenant_id = p_tenant AND p.id = ANY(v_new);
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
    -- insert of the same person-year; ON CONFLICT would cost more than the probe above)
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
    op.execute("DROP INDEX enrolment_fingerprint_match")
    op.execute("CREATE INDEX enrolment_fingerprint_match ON enrolment_fingerprint USING hash (fingerprint)")
    op.execute(_APPLY)


def downgrade() -> None:
    import importlib

    earlier = importlib.import_module("migrations.versions.0018b_duplicate_probes")
    op.execute("DROP INDEX enrolment_fingerprint_match")
    op.execute("CREATE INDEX enrolment_fingerprint_match ON enrolment_fingerprint (year, fingerprint)")
    op.execute(earlier._APPLY)
