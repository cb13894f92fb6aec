"""payments: payments, refunds, remittances, reimbursements, history, tallies

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:19:42.625408
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import grant_sequences, protect_tenant_table

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('enrollment', sa.Column('previous_status', sa.Text(), nullable=True))
    op.create_table('enrollment_history',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('enrolled', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id_number', 'year')
    )
    op.create_table('payment_import',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('checksum', sa.Text(), nullable=False),
    sa.Column('imported_by', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('already_imported', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_table('enrollment_tally',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.Text(collation='C'), nullable=False),
    sa.Column('unpaid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('paid', sa.Integer(), server_default='0', nullable=False),
    sa.Column('subsidized', sa.Integer(), server_default='0', nullable=False),
    sa.Column('refunded', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'year', 'unit_id')
    )
    op.create_index('enrollment_tally_path', 'enrollment_tally', ['tenant_id', 'year', 'unit_path'], unique=False)
    op.create_table('reimbursement_payout',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('reference', sa.Text(), nullable=True),
    sa.Column('paid_by', sa.Text(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0', name='reimbursement_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'person_id'], ['person.tenant_id', 'person.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'person_id', 'year')
    )
    op.create_table('remittance',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('collector_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.Text(collation='C'), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sa.Text(), server_default='DECLARED', nullable=False),
    sa.Column('declared_by', sa.Text(), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('confirmed_by', sa.Text(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmation_no', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('DECLARED', 'CONFIRMED')", name='remittance_status_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'collector_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('remittance_collector', 'remittance', ['tenant_id', 'collector_id', 'id'], unique=False)
    op.create_table('payment',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('due_at_payment', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('timing', sa.Text(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('benefit_start', sa.Date(), nullable=True),
    sa.Column('back_years', sa.Integer(), server_default='0', nullable=False),
    sa.Column('receipt_no', sa.Text(), nullable=True),
    sa.Column('external_id', sa.Text(), nullable=True),
    sa.Column('extension_proof', sa.Text(), nullable=True),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.Text(collation='C'), nullable=False),
    sa.Column('collector_id', sa.BigInteger(), nullable=True),
    sa.Column('remittance_id', sa.BigInteger(), nullable=True),
    sa.Column('import_id', sa.BigInteger(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("channel <> 'CASH_AGENT' OR collector_id IS NOT NULL", name='payment_cash_collector_check'),
    sa.CheckConstraint("channel IN ('WECHAT', 'ALIPAY', 'TAX_APP', 'BANK_APP', 'BANK_COUNTER', 'POS', 'TAX_HALL', 'CASH_AGENT', 'SCHOOL', 'BANK_WITHHOLDING')", name='payment_channel_check'),
    sa.CheckConstraint("status IN ('ACCEPTED', 'DUPLICATE', 'REFUNDED')", name='payment_status_check'),
    sa.CheckConstraint("timing IN ('WINDOW', 'EXTENSION', 'LATE', 'NEWBORN')", name='payment_timing_check'),
    sa.CheckConstraint('amount > 0', name='payment_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'collector_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'import_id'], ['payment_import.tenant_id', 'payment_import.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'person_id'], ['person.tenant_id', 'person.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'remittance_id'], ['remittance.tenant_id', 'remittance.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'year'], ['year_policy.tenant_id', 'year_policy.year'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'channel', 'external_id', name='payment_external_unique'),
    sa.UniqueConstraint('tenant_id', 'receipt_no', name='payment_receipt_unique')
    )
    op.create_index('payment_cash_unremitted', 'payment', ['tenant_id', 'collector_id', 'paid_at'], unique=False, postgresql_where=sa.text("channel = 'CASH_AGENT' AND remittance_id IS NULL"))
    op.create_index('payment_one_accepted', 'payment', ['tenant_id', 'person_id', 'year'], unique=True, postgresql_where=sa.text("status = 'ACCEPTED'"))
    op.create_index('payment_person_year', 'payment', ['tenant_id', 'person_id', 'year'], unique=False)
    op.create_index('payment_unit_path', 'payment', ['tenant_id', 'unit_path', 'id'], unique=False)
    op.create_index('payment_year_id', 'payment', ['tenant_id', 'year', 'id'], unique=False)
    op.create_table('refund',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sa.Text(), server_default='REQUESTED', nullable=False),
    sa.Column('automatic', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('event_date', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('completed_by', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completion_ref', sa.Text(), nullable=True),
    sa.CheckConstraint("reason IN ('DUPLICATE_PAYMENT', 'JOINED_EMPLOYEE_INSURANCE', 'DECEASED', 'DUPLICATE_ENROLLMENT', 'MOVED_REGION', 'GAVE_UP', 'SUBSIDY_OVERPAID')", name='refund_reason_check'),
    sa.CheckConstraint("status IN ('REQUESTED', 'APPROVED', 'REJECTED', 'COMPLETED')", name='refund_status_check'),
    sa.CheckConstraint('amount > 0', name='refund_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'payment_id'], ['payment.tenant_id', 'payment.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('refund_one_whole', 'refund', ['tenant_id', 'payment_id'], unique=True, postgresql_where=sa.text("reason <> 'SUBSIDY_OVERPAID' AND status <> 'REJECTED'"))
    op.create_index('refund_payment', 'refund', ['tenant_id', 'payment_id'], unique=False)
    op.create_index('refund_status', 'refund', ['tenant_id', 'status', 'id'], unique=False)

    # Money rows are never deleted, and their amounts never edited: only statuses move.
    protect_tenant_table("payment", verbs="SELECT, INSERT, UPDATE (status, remittance_id)")
    protect_tenant_table(
        "refund",
        verbs="SELECT, INSERT, UPDATE (status, decided_by, decided_at, decision_note, completed_by, completed_at, completion_ref)",
    )
    protect_tenant_table("remittance", verbs="SELECT, INSERT, UPDATE (status, confirmed_by, confirmed_at, confirmation_no)")
    protect_tenant_table("reimbursement_payout", append_only=True)
    protect_tenant_table("payment_import", append_only=True)
    protect_tenant_table("enrollment_history", verbs="SELECT, INSERT, UPDATE")
    protect_tenant_table("enrollment_tally", verbs="SELECT, INSERT, UPDATE")
    grant_sequences()
    # Tallies of the enrolments that exist already. The owner is under FORCE RLS too,
    # so this runs once per tenant with the tenant bound.
    op.execute(
        """
        DO $$
        DECLARE t bigint;
        BEGIN
          FOR t IN SELECT id FROM tenant LOOP
            PERFORM set_config('app.tenant_id', t::text, true);
            INSERT INTO enrollment_tally (tenant_id, year, unit_id, unit_path, unpaid, paid, subsidized, refunded)
            SELECT e.tenant_id, e.year, p.unit_id, p.unit_path,
                   count(*) FILTER (WHERE e.status = 'UNPAID'), count(*) FILTER (WHERE e.status = 'PAID'),
                   count(*) FILTER (WHERE e.status = 'SUBSIDIZED'), count(*) FILTER (WHERE e.status = 'REFUNDED')
              FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
             WHERE e.tenant_id = t
             GROUP BY e.tenant_id, e.year, p.unit_id, p.unit_path;
          END LOOP;
          PERFORM set_config('app.tenant_id', '', true);
        END $$
        """
    )


def downgrade() -> None:
    op.drop_column('enrollment', 'previous_status')
    op.drop_index('refund_status', table_name='refund')
    op.drop_index('refund_payment', table_name='refund')
    op.drop_index('refund_one_whole', table_name='refund', postgresql_where=sa.text("reason <> 'SUBSIDY_OVERPAID' AND status <> 'REJECTED'"))
    op.drop_table('refund')
    op.drop_index('payment_year_id', table_name='payment')
    op.drop_index('payment_unit_path', table_name='payment')
    op.drop_index('payment_person_year', table_name='payment')
    op.drop_index('payment_one_accepted', table_name='payment', postgresql_where=sa.text("status = 'ACCEPTED'"))
    op.drop_index('payment_cash_unremitted', table_name='payment', postgresql_where=sa.text("channel = 'CASH_AGENT' AND remittance_id IS NULL"))
    op.drop_table('payment')
    op.drop_index('remittance_collector', table_name='remittance')
    op.drop_table('remittance')
    op.drop_table('reimbursement_payout')
    op.drop_index('enrollment_tally_path', table_name='enrollment_tally')
    op.drop_table('enrollment_tally')
    op.drop_table('payment_import')
    op.drop_table('enrollment_history')
