"""subsidies: year policies, categories, list batches, enrolments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:55:13.560211
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import grant_sequences, protect_tenant_table

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('year_policy',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('standard', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('fiscal_subsidy', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('extension_end', sa.Date(), nullable=True),
    sa.Column('extension_needs_proof', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('list_cutoff', sa.Date(), nullable=True),
    sa.Column('age_reference_date', sa.Date(), nullable=False),
    sa.Column('late_rule', sa.Text(), server_default='REFUSED', nullable=False),
    sa.Column('late_wait_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('refund_claim_deadline', sa.Date(), nullable=True),
    sa.Column('remit_days', sa.Integer(), server_default='5', nullable=False),
    sa.Column('remit_amount', sa.Numeric(precision=12, scale=2), server_default='10000', nullable=False),
    sa.Column('newborn_days', sa.Integer(), server_default='90', nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("late_rule IN ('REFUSED', 'FULL_COST_WAIT')", name='year_policy_late_rule_check'),
    sa.CheckConstraint('standard > 0', name='year_policy_standard_check'),
    sa.CheckConstraint('window_start <= window_end', name='year_policy_window_check'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year')
    )
    op.create_table('subsidy_category',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('owner', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('mode', sa.Text(), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=True),
    sa.Column('max_age', sa.Integer(), nullable=True),
    sa.Column('funders', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("mode IN ('AUTO_ENROLL', 'DEDUCT', 'REIMBURSE')", name='subsidy_category_mode_check'),
    sa.CheckConstraint("rule IN ('FULL', 'PERCENT', 'FIXED')", name='subsidy_category_rule_check'),
    sa.CheckConstraint('amount >= 0', name='subsidy_category_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year', 'code')
    )
    op.create_table('enrollment',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('amount_due', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=12, scale=2), server_default='0', nullable=False),
    sa.Column('subsidy_category', sa.Text(), nullable=True),
    sa.Column('subsidy_amount', sa.Numeric(precision=12, scale=2), server_default='0', nullable=False),
    sa.Column('subsidy_mode', sa.Text(), nullable=True),
    sa.Column('reimbursement_due', sa.Numeric(precision=12, scale=2), server_default='0', nullable=False),
    sa.Column('benefit_start', sa.Date(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.CheckConstraint("status IN ('UNPAID', 'PAID', 'SUBSIDIZED', 'REFUNDED')", name='enrollment_status_check'),
    sa.CheckConstraint("subsidy_mode IS NULL OR subsidy_mode IN ('AUTO_ENROLL', 'DEDUCT', 'REIMBURSE')", name='enrollment_mode_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'person_id'], ['person.tenant_id', 'person.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'person_id', 'year')
    )
    op.create_index('enrollment_tenant_year_status', 'enrollment', ['tenant_id', 'year', 'status'], unique=False)
    op.create_table('subsidy_batch',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('checksum', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.Text(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_accepted', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('pending', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'year', 'category_code'], ['subsidy_category.tenant_id', 'subsidy_category.year', 'subsidy_category.code'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'year', 'category_code', 'version')
    )
    op.create_table('subsidy_membership',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'year', 'category_code'], ['subsidy_category.tenant_id', 'subsidy_category.year', 'subsidy_category.code'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year', 'category_code', 'id_number')
    )
    op.create_index('subsidy_membership_person', 'subsidy_membership', ['tenant_id', 'id_number', 'year'], unique=False)
    op.create_table('subsidy_list_entry',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=True),
    sa.Column('recognized_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('change', sa.Text(), nullable=False),
    sa.CheckConstraint("change IN ('ADDED', 'KEPT', 'REMOVED')", name='subsidy_list_entry_change_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['subsidy_batch.tenant_id', 'subsidy_batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'batch_id', 'id_number')
    )
    op.create_index('subsidy_list_entry_person', 'subsidy_list_entry', ['tenant_id', 'id_number'], unique=False)

    for table in ("year_policy", "subsidy_category", "enrollment", "subsidy_batch", "subsidy_membership", "subsidy_list_entry"):
        protect_tenant_table(table)
    grant_sequences()


def downgrade() -> None:
    op.drop_index('subsidy_list_entry_person', table_name='subsidy_list_entry')
    op.drop_table('subsidy_list_entry')
    op.drop_index('subsidy_membership_person', table_name='subsidy_membership')
    op.drop_table('subsidy_membership')
    op.drop_table('subsidy_batch')
    op.drop_index('enrollment_tenant_year_status', table_name='enrollment')
    op.drop_table('enrollment')
    op.drop_table('subsidy_category')
    op.drop_table('year_policy')
