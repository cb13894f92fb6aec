"""row reports: the rejected rows of an upload, kept for the 错误原因 spreadsheet

Revision ID: 0014
Revises: 0013d
Create Date: 2026-12-01 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import AddConstraint

from domain.row_reports.tables import RowReport
from migrations.rls import protect_tenant_table

revision = "0014"
down_revision = "0013d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "row_report",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id_column", sa.Integer(), nullable=False),
        sa.Column("known_columns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    for constraint in RowReport.__table__.constraints:
        if "enum" in getattr(constraint, "info", {}):
            op.execute(AddConstraint(constraint))
    op.create_table(
        "row_report_row",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("cells", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("variant", sa.Text(), nullable=True),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("messages", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "report_id"], ["row_report.tenant_id", "row_report.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "report_id", "row_number"),
    )
    # Reports are kept as the upload left them: written once, read, never edited.
    protect_tenant_table("row_report", append_only=True)
    protect_tenant_table("row_report_row", append_only=True)


def downgrade() -> None:
    op.drop_table("row_report_row")
    op.drop_table("row_report")
