"""duplicate enrolment: a county undoes its own decision (`reopenDuplicate`)

`match_reopen_case(case, note, by)` puts a pair decided by the calling county back to
OPEN on both sides. What the decision did in the other county is undone with it, where
nothing has changed there since: a subsidised year that the decision ended (EXCUSED,
its previous status SUBSIDIZED — the row untouched since) is SUBSIDIZED again from
1 January, with its tally, as that county's recompute would make it without the
release; its audit trail gets a row. The cases are OPEN before the enrolment changes,
so the fingerprint written again meets them instead of opening a second pair. The
calling county's own side is recomputed by the application (domain/matching/sql.py).

Answers 'REOPENED', or why not: 'NOT_FOUND', 'OPEN' (nothing to undo), 'ELSEWHERE'
(the other county decided), 'SYSTEM' (closed because the enrolment ended),
'SUPERSEDED' (a newer open case of the pair's person and counties).

Revision ID: 0019c
Revises: 0019b
"""
from alembic import op

from migrations.rls import app_role

revision = "0019c"
down_revision = "0019b"
branch_labels = None
depends_on = None

_PAIR_LOCK = 20161
_SIGNATURE = "match_reopen_case(bigint, text, text)"

_REOPEN = f"""
CREATE FUNCTION match_reopen_case(p_case bigint, p_note text, p_by text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_bound text := coalesce(current_setting('app.tenant_id', true), '');
    v_tenant bigint := NULLIF(v_bound, '')::bigint;
    c duplicate_case;
    o duplicate_case;
    r record;
    v_restored boolean := false;
BEGIN
    SELECT * INTO c FROM duplicate_case WHERE tenant_id = v_tenant AND id = p_case;
    IF NOT FOUND THEN
        RETURN 'NOT_FOUND';
    END IF;
    PERFORM pg_advisory_xact_lock({_PAIR_LOCK}, hashtext(c.pair_id::text));
    SELECT * INTO c FROM duplicate_case WHERE tenant_id = v_tenant AND id = p_case;
    IF c.status = 'OPEN' THEN
        RETURN 'OPEN';
    ELSIF c.resolved_by = 'system' THEN
        RETURN 'SYSTEM';
    ELSIF NOT c.resolved_here THEN
        RETURN 'ELSEWHERE';
    END IF;
    IF EXISTS (SELECT 1 FROM duplicate_case
                WHERE tenant_id = v_tenant AND year = c.year AND person_id = c.person_id
                  AND other_tenant_id = c.other_tenant_id AND status = 'OPEN') THEN
        RETURN 'SUPERSEDED';
    END IF;
    PERFORM set_config('app.tenant_id', c.other_tenant_id::text, true);
    SELECT * INTO o FROM duplicate_case WHERE tenant_id = c.other_tenant_id AND pair_id = c.pair_id;
    IF EXISTS (SELECT 1 FROM duplicate_case
                WHERE tenant_id = o.tenant_id AND year = o.year AND person_id = o.person_id
                  AND other_tenant_id = v_tenant AND status = 'OPEN') THEN
        PERFORM set_config('app.tenant_id', v_bound, true);
        RETURN 'SUPERSEDED';
    END IF;
    UPDATE duplicate_case
       SET status = 'OPEN', resolved_here = NULL, resolved_by = NULL, resolved_at = NULL
     WHERE tenant_id = o.tenant_id AND id = o.id;
    IF o.status = 'RELEASED' THEN
        -- after that county's list upload of the year in progress, as the decision did
        PERFORM 1 FROM year_policy WHERE tenant_id = o.tenant_id AND year = o.year FOR SHARE;
        FOR r IN
            UPDATE enrollment e
               SET previous_status = e.status, status = 'SUBSIDIZED', benefit_start = make_date(o.year, 1, 1),
                   computed_at = now()
             WHERE e.tenant_id = o.tenant_id AND e.year = o.year AND e.person_id = o.person_id
               AND e.status = 'EXCUSED' AND e.previous_status = 'SUBSIDIZED'
            RETURNING e.person_id
        LOOP
            UPDATE enrollment_tally t
               SET subsidized = t.subsidized + 1, excused = t.excused - 1
              FROM person p
             WHERE p.tenant_id = o.tenant_id AND p.id = r.person_id
               AND t.tenant_id = p.tenant_id AND t.year = o.year AND t.unit_id = p.unit_id;
            v_restored := true;
        END LOOP;
    END IF;
    INSERT INTO audit_log (tenant_id, actor, operation, entity, entity_id, before, after, outcome)
    VALUES (o.tenant_id, 'county:' || (SELECT code FROM tenant WHERE id = v_tenant) || '/' || p_by,
            'reopenDuplicate', 'duplicate_case', o.id::text, jsonb_build_object('status', o.status),
            jsonb_build_object('status', 'OPEN', 'enrollment', CASE WHEN v_restored THEN 'SUBSIDIZED' END),
            'ok');
    PERFORM set_config('app.tenant_id', v_bound, true);
    UPDATE duplicate_case
       SET status = 'OPEN', resolved_here = NULL, resolved_by = NULL, resolved_at = NULL,
           note = coalesce(p_note, note)
     WHERE tenant_id = v_tenant AND id = p_case;
    RETURN 'REOPENED';
END $$
"""


def upgrade() -> None:
    op.execute(_REOPEN)
    op.execute(f"REVOKE ALL ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {_SIGNATURE} TO "{app_role()}"')


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
