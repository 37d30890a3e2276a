"""session time-outs: when each login session was last used, and three more reasons for a
session to end (idle, expired, logged out everywhere)

Revision ID: 5e7a0c1d2b3f
Revises: 713536197c7b
Create Date: 2026-12-02 02:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e7a0c1d2b3f'
down_revision = '713536197c7b'
branch_labels = None
depends_on = None

REASONS_BEFORE = ("logout", "password", "deactivated")
REASONS_AFTER = REASONS_BEFORE + ("idle", "expired", "everywhere")


def _reason_check(batch_op, reasons):
    values = ", ".join(f"'{reason}'" for reason in reasons)
    batch_op.drop_constraint(op.f("ck_user_sessions_end_reason"), type_="check")
    batch_op.create_check_constraint(
        op.f("ck_user_sessions_end_reason"), f"end_reason IN ({values})"
    )


def upgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE user_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        _reason_check(batch_op, REASONS_AFTER)


def downgrade():
    # the three new reasons have no equivalent before: those sessions simply ended by logout
    op.execute(
        "UPDATE user_sessions SET end_reason = 'logout' "
        "WHERE end_reason IN ('idle', 'expired', 'everywhere')"
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        _reason_check(batch_op, REASONS_BEFORE)
        batch_op.drop_column('last_seen_at')
