"""the online path: a version of each county's tree and quotas

`tenant.tree_version` moves with every change of a unit (its place, code, name, kind or
retirement; not its persons counter, which moves with each registration) and of a
quota, by triggers, whoever writes. `quotaProgress` keeps a county's children and their
targets in the process and reads the version with the tallies in one statement: a
change made since, by any process, is seen at once (domain/progress/store.py).

Revision ID: 0020b
Revises: 0020a
"""
import sqlalchemy as sa
from alembic import op

revision = "0020b"
down_revision = "0020a"
branch_labels = None
depends_on = None

# The columns of a unit that the tree shows (persons and retired_at move alone).
TREE_COLUMNS = "parent_id, code, name, kind, path, depth, retired, merged_into_id"

_BUMP = """
CREATE FUNCTION bump_tree_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant SET tree_version = tree_version + 1
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("tenant", sa.Column("tree_version", sa.Integer(), server_default="0", nullable=False))
    op.execute(_BUMP)
    op.execute(f"""CREATE TRIGGER unit_tree_version AFTER INSERT OR DELETE OR UPDATE OF {TREE_COLUMNS} ON unit
                   FOR EACH ROW EXECUTE FUNCTION bump_tree_version()""")
    op.execute("""CREATE TRIGGER quota_tree_version AFTER INSERT OR DELETE OR UPDATE ON quota
                  FOR EACH ROW EXECUTE FUNCTION bump_tree_version()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER quota_tree_version ON quota")
    op.execute("DROP TRIGGER unit_tree_version ON unit")
    op.execute("DROP FUNCTION bump_tree_version()")
    op.drop_column("tenant", "tree_version")
