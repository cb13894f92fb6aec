"""list tables: one index each, no per-row key checks; room for in-place enrolment updates

A 100,000-row first list writes 100,000 entries and 100,000 members. Each of them paid
for a second index and a foreign-key check (an index probe and a row lock on the one
batch or category row they all share). Now:

- `subsidy_list_entry` is keyed (tenant, ID number, batch): the upload's look-up of a
  number's last entry and a person's history across versions both use that key, so
  the separate person index goes;
- `subsidy_membership` is keyed (tenant, year, ID number, category): the recompute's
  look-up of a person's lists uses it, and reading one category's list scans the year;
- neither has a key to its batch or category: both are written only by an upload,
  which locks the category row and inserts the batch (keyed to the category) in the
  same transaction, and a category with uploaded lists cannot be dropped.

`enrollment` keeps 20 % of each page free (fillfactor 80): a list or payment changes
one row in six of a year, and a changed row that fits on its page is written without
touching the indexes whose columns did not change (a HOT update). Tables already
filled keep their packing until rewritten (`VACUUM FULL enrollment`).

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("subsidy_list_entry_tenant_id_batch_id_fkey", "subsidy_list_entry", type_="foreignkey")
    op.drop_index("subsidy_list_entry_person", table_name="subsidy_list_entry")
    op.drop_constraint("subsidy_list_entry_pkey", "subsidy_list_entry", type_="primary")
    op.create_primary_key("subsidy_list_entry_pkey", "subsidy_list_entry", ["tenant_id", "id_number", "batch_id"])

    op.drop_constraint(
        "subsidy_membership_tenant_id_year_category_code_fkey", "subsidy_membership", type_="foreignkey"
    )
    op.drop_index("subsidy_membership_person", table_name="subsidy_membership")
    op.drop_constraint("subsidy_membership_pkey", "subsidy_membership", type_="primary")
    op.create_primary_key(
        "subsidy_membership_pkey", "subsidy_membership", ["tenant_id", "year", "id_number", "category_code"]
    )

    op.execute("ALTER TABLE enrollment SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE enrollment RESET (fillfactor)")

    op.drop_constraint("subsidy_membership_pkey", "subsidy_membership", type_="primary")
    op.create_primary_key(
        "subsidy_membership_pkey", "subsidy_membership", ["tenant_id", "year", "category_code", "id_number"]
    )
    op.create_index("subsidy_membership_person", "subsidy_membership", ["tenant_id", "id_number", "year"])
    op.create_foreign_key(
        "subsidy_membership_tenant_id_year_category_code_fkey", "subsidy_membership", "subsidy_category",
        ["tenant_id", "year", "category_code"], ["tenant_id", "year", "code"], ondelete="CASCADE",
    )

    op.drop_constraint("subsidy_list_entry_pkey", "subsidy_list_entry", type_="primary")
    op.create_primary_key("subsidy_list_entry_pkey", "subsidy_list_entry", ["tenant_id", "batch_id", "id_number"])
    op.create_index("subsidy_list_entry_person", "subsidy_list_entry", ["tenant_id", "id_number"])
    op.create_foreign_key(
        "subsidy_list_entry_tenant_id_batch_id_fkey", "subsidy_list_entry", "subsidy_batch",
        ["tenant_id", "batch_id"], ["tenant_id", "id"],
    )
