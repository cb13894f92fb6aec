"""duplicate enrolment: a corrected ID number re-fingerprints the person

`correctIdNumber` changes `person.id_number`; the person's enrolment fingerprints
(0016a) were made from the old number. An AFTER UPDATE trigger on person replaces them
with the new number's and matches it against the other counties at once, as an
enrolment would.

Revision ID: 0016c
Revises: 0016a
"""
from alembic import op

revision = "0016c"
down_revision = "0016a"
branch_labels = None
depends_on = None

_RENUMBERED = """
CREATE FUNCTION match_person_renumbered() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE g record;
BEGIN
    FOR g IN SELECT f.tenant_id, f.year, array_agg(f.person_id) AS ids
               FROM new_rows n
               JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id AND o.id_number <> n.id_number
               JOIN enrolment_fingerprint f ON f.tenant_id = n.tenant_id AND f.person_id = n.id
              GROUP BY f.tenant_id, f.year
    LOOP
        DELETE FROM enrolment_fingerprint
         WHERE tenant_id = g.tenant_id AND year = g.year AND person_id = ANY(g.ids);
        PERFORM match_apply(g.tenant_id, g.year, g.ids, '{}');
    END LOOP;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(_RENUMBERED)
    op.execute("REVOKE ALL ON FUNCTION match_person_renumbered() FROM PUBLIC")
    # (a column list cannot go with transition tables: the join keeps only renumbered rows)
    op.execute(
        "CREATE TRIGGER person_match_renumbered AFTER UPDATE ON person"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION match_person_renumbered()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER person_match_renumbered ON person")
    op.execute("DROP FUNCTION match_person_renumbered()")
