"""duplicate enrolment: a release decided by the other county ends a subsidised year here

A person-year released by a decision leaves the county's scheme for the year
(domain/matching/sql.py): the recompute makes a year not paid there EXCUSED. When a
county keeps the person (`resolveDuplicate(keep: true)`), the other county's side is
released by that decision, in a transaction of the deciding county: `match_resolve_case`
now ends the other side's SUBSIDIZED year at once, under that county's row-level
security binding, as its recompute would (status EXCUSED, no benefit start), and moves
its tally from subsidised to excused, after that county's list upload of the year in
progress (its policy row, shared). (A paid year there goes back through that county's
DUPLICATE_ENROLLMENT refund; an exempt newborn's through its exemption.) The releasing
county's own decision is recomputed by the application in the same transaction. The
other county's audit trail gets a row of what the decision did there (actor
`county:<code>/<user>`).

Revision ID: 0019b
Revises: 0019a
"""
from alembic import op

revision = "0019b"
down_revision = "0019a"
branch_labels = None
depends_on = None

_PAIR_LOCK = 20161

_RESOLVE = f"""
CREATE OR REPLACE FUNCTION match_resolve_case(p_case bigint, p_keep boolean, p_note text, p_by text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_bound text := coalesce(current_setting('app.tenant_id', true), '');
    v_tenant bigint := NULLIF(v_bound, '')::bigint;
    c duplicate_case;
    r record;
    v_other_case bigint;
    v_excused boolean := false;
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
     WHERE tenant_id = c.other_tenant_id AND pair_id = c.pair_id AND status = 'OPEN'
    RETURNING id INTO v_other_case;
    IF p_keep THEN
        -- Released there by this decision: a subsidised year there ends now. After that
        -- county's list upload or policy recompute of the year in progress, if any (its
        -- policy row, as a recompute of a few persons takes it): one recomputing the
        -- person meanwhile would not see this release and write SUBSIDIZED back.
        PERFORM 1 FROM year_policy WHERE tenant_id = c.other_tenant_id AND year = c.year FOR SHARE;
        FOR r IN
            UPDATE enrollment e
               SET previous_status = e.status, status = 'EXCUSED', benefit_start = NULL, computed_at = now()
              FROM duplicate_case o
             WHERE o.tenant_id = c.other_tenant_id AND o.pair_id = c.pair_id
               AND e.tenant_id = o.tenant_id AND e.year = o.year AND e.person_id = o.person_id
               AND e.status = 'SUBSIDIZED'
            RETURNING e.person_id
        LOOP
            UPDATE enrollment_tally t
               SET subsidized = t.subsidized - 1, excused = t.excused + 1
              FROM person p
             WHERE p.tenant_id = c.other_tenant_id AND p.id = r.person_id
               AND t.tenant_id = p.tenant_id AND t.year = c.year AND t.unit_id = p.unit_id;
            v_excused := true;
        END LOOP;
    END IF;
    -- That county's own trail of what another county's decision did to its records (the
    -- deciding county audits the request itself).
    INSERT INTO audit_log (tenant_id, actor, operation, entity, entity_id, before, after, outcome)
    VALUES (c.other_tenant_id, 'county:' || (SELECT code FROM tenant WHERE id = v_tenant) || '/' || p_by,
            'resolveDuplicate', 'duplicate_case', v_other_case::text, '{{"status": "OPEN"}}',
            jsonb_build_object('status', CASE WHEN p_keep THEN 'RELEASED' ELSE 'KEPT' END,
                               'enrollment', CASE WHEN v_excused THEN 'EXCUSED' END),
            'ok');
    PERFORM set_config('app.tenant_id', v_bound, true);
    RETURN 'RESOLVED';
END $$
"""


def upgrade() -> None:
    op.execute(_RESOLVE)
    # The recompute, the as-of-day count and the 断保/漏保 rules ask, person by person,
    # whether the person-year was released (domain/matching/sql.py).
    op.create_index(
        "duplicate_case_released", "duplicate_case", ["tenant_id", "person_id", "year"],
        postgresql_where="status = 'RELEASED'",
    )


def downgrade() -> None:
    import importlib

    op.drop_index("duplicate_case_released", table_name="duplicate_case")

    earlier = importlib.import_module("migrations.versions.0016a_duplicate_enrolment")
    op.execute(earlier._RESOLVE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
