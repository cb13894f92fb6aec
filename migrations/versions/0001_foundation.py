"""foundation: tenants, the unit tree, departments, accounts, persons, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 21:43:47.348117
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import grant_platform_table, grant_sequences, protect_tenant_table

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('platform_operator',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('tenant',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('time_zone', sa.Text(), server_default='Asia/Shanghai', nullable=False),
    sa.Column('authz_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('client_mutation_id', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('audit_log',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('operation', sa.Text(), nullable=False),
    sa.Column('entity', sa.Text(), nullable=True),
    sa.Column('entity_id', sa.Text(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('correlation_id', sa.Text(), nullable=True),
    sa.CheckConstraint("outcome IN ('ok', 'rejected')", name='audit_outcome_check'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('audit_log_tenant_at', 'audit_log', ['tenant_id', 'created_at'], unique=False)
    op.create_table('department',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.CheckConstraint("code IN ('MEDICAL_SECURITY', 'TAX', 'FINANCE', 'CIVIL_AFFAIRS', 'RURAL_REVITALIZATION', 'DISABLED_FEDERATION', 'VETERANS', 'HEALTH', 'EDUCATION', 'PUBLIC_SECURITY')", name='department_code_check'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'code')
    )
    op.create_table('mutation_receipt',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('client_mutation_id', sa.Text(), nullable=False),
    sa.Column('operation', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'actor', 'client_mutation_id')
    )
    op.create_table('unit',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(collation='C'), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('STREET', 'TOWN', 'TOWNSHIP', 'MANAGEMENT_AREA', 'COMMUNITY', 'VILLAGE', 'SCHOOL', 'SPECIAL')", name='unit_kind_check'),
    sa.CheckConstraint('length(btrim(name)) > 0', name='unit_name_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'parent_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'code')
    )
    op.create_index('unit_tenant_parent', 'unit', ['tenant_id', 'parent_id', 'code'], unique=False)
    op.create_index('unit_tenant_path', 'unit', ['tenant_id', 'path'], unique=False)
    op.create_table('app_user',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=True),
    sa.Column('scope_unit_id', sa.BigInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role <> 'DEPARTMENT_STAFF' OR department_id IS NOT NULL", name='app_user_department_check'),
    sa.CheckConstraint("role IN ('PLATFORM_OPERATOR', 'COUNTY_ADMIN', 'DEPARTMENT_STAFF', 'TOWNSHIP_STAFF', 'VILLAGE_COLLECTOR') AND role <> 'PLATFORM_OPERATOR'", name='app_user_role_check'),
    sa.CheckConstraint("role NOT IN ('TOWNSHIP_STAFF', 'VILLAGE_COLLECTOR') OR scope_unit_id IS NOT NULL", name='app_user_scope_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'department_id'], ['department.tenant_id', 'department.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'scope_unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'username')
    )
    op.create_table('person',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.Text(), nullable=False),
    sa.Column('unit_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_path', sa.Text(collation='C'), nullable=False),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("id_number ~ '^[0-9]{17}[0-9X]$'", name='person_id_number_check'),
    sa.CheckConstraint("sex IN ('M', 'F')", name='person_sex_check'),
    sa.CheckConstraint('length(btrim(name)) > 0', name='person_name_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'unit_id'], ['unit.tenant_id', 'unit.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'id_number')
    )
    op.create_index('person_tenant_name', 'person', ['tenant_id', 'name'], unique=False, postgresql_ops={'name': 'text_pattern_ops'})
    op.create_index('person_tenant_unit_path', 'person', ['tenant_id', 'unit_path', 'id'], unique=False)

    grant_platform_table("tenant", "SELECT, INSERT, UPDATE")
    grant_platform_table("platform_operator", "SELECT")
    for table in ("unit", "department", "app_user", "person", "mutation_receipt"):
        protect_tenant_table(table)
    protect_tenant_table("audit_log", append_only=True)
    grant_sequences()


def downgrade() -> None:
    op.drop_index('person_tenant_unit_path', table_name='person')
    op.drop_index('person_tenant_name', table_name='person', postgresql_ops={'name': 'text_pattern_ops'})
    op.drop_table('person')
    op.drop_table('app_user')
    op.drop_index('unit_tenant_path', table_name='unit')
    op.drop_index('unit_tenant_parent', table_name='unit')
    op.drop_table('unit')
    op.drop_table('mutation_receipt')
    op.drop_table('department')
    op.drop_index('audit_log_tenant_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('tenant')
    op.drop_table('platform_operator')
