"""newborns and the subsidised grace month: the policy fields, registration day, EXEMPT

- year_policy: the newborn period in days or in calendar months (八公山 3 months,
  内乡 90 days; exactly one), the late newborn rule (八公山: the day after payment;
  内乡: the registration day), the parent exemption (内乡) and the grace months of
  subsidised persons (枣庄: 1).
- person.registered_on: the registration day (Asia/Shanghai), which 内乡's late newborns
  are covered from; existing persons take the day they were created.
- newborn_exemption: a newborn's birth year without paying and why (a parent enrolled
  here, checked; or cover elsewhere in the city, declared with a proof), withdrawn but
  never deleted: the serving role may update only the withdrawal columns.
- EXEMPT: enrollment's status check, and a tally column per status (enrollment_tally,
  progress_snapshot); payment timings GRACE and NEWBORN_LATE.

Revision ID: 0013b
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import app_role, grant_sequences, protect_tenant_table, recreate_enum_checks

revision = "0013b"
down_revision = "0013c"
branch_labels = None
depends_on = None


# CHECK constraints of closed lists written from their enums (as in 0012): the ones this
# revision adds or whose enum grew.
_ENUM_CHECKS = (
    "year_policy_newborn_late_rule_check", "enrollment_status_check", "payment_timing_check",
    "newborn_exemption_basis_check",
)



def _policy_fields() -> None:
    op.alter_column("year_policy", "newborn_days", nullable=True)
    op.add_column("year_policy", sa.Column("newborn_months", sa.Integer(), nullable=True))
    op.add_column("year_policy", sa.Column("newborn_late_rule", sa.Text(), server_default="GENERAL", nullable=False))
    op.add_column(
        "year_policy", sa.Column("newborn_parent_exemption", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("year_policy", sa.Column("subsidized_grace_months", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint(
        "year_policy_newborn_period_check", "year_policy", "num_nonnulls(newborn_days, newborn_months) = 1"
    )


def _registration_day() -> None:
    op.add_column("person", sa.Column("registered_on", sa.Date(), nullable=True))
    op.execute("UPDATE person SET registered_on = (created_at AT TIME ZONE 'Asia/Shanghai')::date")
    op.alter_column(
        "person", "registered_on", nullable=False,
        server_default=sa.text("((now() AT TIME ZONE 'Asia/Shanghai'))::date"),
    )


def _exemptions() -> None:
    op.create_table(
        "newborn_exemption",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("parent_id_number", sa.Text(), nullable=True),
        sa.Column("parent_person_id", sa.BigInteger(), nullable=True),
        sa.Column("proof_reference", sa.Text(), nullable=True),
        sa.Column("declared_by", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("withdrawn_by", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "basis <> 'PARENT_ENROLLED' OR parent_id_number IS NOT NULL", name="newborn_exemption_parent_check"
        ),
        sa.CheckConstraint(
            "basis <> 'PARENT_COVER_DECLARED' OR proof_reference IS NOT NULL", name="newborn_exemption_proof_check"
        ),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by IS NULL)", name="newborn_exemption_withdrawal_check"),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index(
        "newborn_exemption_in_force", "newborn_exemption", ["tenant_id", "person_id", "year"], unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    protect_tenant_table(
        "newborn_exemption", verbs="SELECT, INSERT, UPDATE (withdrawn_by, withdrawn_at, withdrawal_reason)"
    )
    grant_sequences()


def upgrade() -> None:
    _policy_fields()
    _registration_day()
    op.add_column("enrollment_tally", sa.Column("exempt", sa.Integer(), server_default="0", nullable=False))
    op.add_column("progress_snapshot", sa.Column("exempt", sa.Integer(), server_default="0", nullable=False))
    _exemptions()
    recreate_enum_checks(_ENUM_CHECKS)


def downgrade() -> None:
    op.execute(f'REVOKE ALL ON newborn_exemption FROM "{app_role()}"')
    op.drop_index("newborn_exemption_in_force", table_name="newborn_exemption")
    op.drop_table("newborn_exemption")
    op.drop_column("progress_snapshot", "exempt")
    op.drop_column("enrollment_tally", "exempt")
    op.drop_column("person", "registered_on")
    op.drop_constraint("year_policy_newborn_period_check", "year_policy", type_="check")
    op.execute("ALTER TABLE year_policy DROP CONSTRAINT IF EXISTS year_policy_newborn_late_rule_check")
    op.drop_column("year_policy", "subsidized_grace_months")
    op.drop_column("year_policy", "newborn_parent_exemption")
    op.drop_column("year_policy", "newborn_late_rule")
    op.execute("UPDATE year_policy SET newborn_days = 90 WHERE newborn_days IS NULL")
    op.drop_column("year_policy", "newborn_months")
    op.alter_column("year_policy", "newborn_days", nullable=False)
    # (enrollment_status_check and payment_timing_check keep the wider lists: rows may use them)
