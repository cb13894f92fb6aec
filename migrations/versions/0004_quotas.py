"""quotas: quotas per unit and year, daily progress snapshots, assessment rules

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import protect_tenant_table

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('target >= 0', name='quota_target_check'),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name='quota_year_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year', 'unit_id')
    )
    op.create_table('progress_snapshot',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.Column('unpaid', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('subsidized', sa.Integer(), nullable=False),
    sa.Column('refunded', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('siblings', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year', 'day', 'unit_id')
    )
    op.create_index('progress_snapshot_unit_day', 'progress_snapshot', ['tenant_id', 'year', 'unit_id', 'day'], unique=False)
    op.create_table('assessment_rules',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year')
    )

    protect_tenant_table("quota")
    # Snapshots are history: re-taken the same day they are replaced, never deleted.
    protect_tenant_table("progress_snapshot", verbs="SELECT, INSERT, UPDATE")
    protect_tenant_table("assessment_rules")


def downgrade() -> None:
    op.drop_table('assessment_rules')
    op.drop_index('progress_snapshot_unit_day', table_name='progress_snapshot')
    op.drop_table('progress_snapshot')
    op.drop_table('quota')
