"""hash-chained audit trail: sequence numbers and hashes, the chain head, addresses beside the
chain, and triggers that refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE)

Revision ID: c4a1f0e9d2b7
Revises: 779d1c99085b
Create Date: 2026-12-01 22:06:07.894106

The entries already written are chained in the order of their ids, with the canonical form of
app/core/audit.py as it is at this revision (copied below, so that a later change there cannot
change what this migration wrote). Their client addresses move to audit_addresses, out of the
hashed form.

The triggers are the last line below the ORM's guard: whatever goes around it (Core statements,
raw SQL) cannot change or remove an entry. A batch migration on SQLite that copies audit_entries
drops them and must create them again (TRIGGERS below).
"""
import hashlib
import json
from datetime import UTC

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a1f0e9d2b7'
down_revision = '779d1c99085b'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MESSAGE = "audit entries are append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]

POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$
    """,
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change()",
]


def _canonical(seq, prev_hash, occurred_at, actor_id, action, object_type, object_id, details):
    """app.core.audit.canonical_entry at this revision."""
    document = {
        "seq": seq,
        "prev": prev_hash,
        "at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _chain_existing_entries() -> None:
    entries = sa.table(
        "audit_entries",
        sa.column("id", BIG_ID),
        sa.column("seq", BIG_ID),
        sa.column("prev_hash", sa.String),
        sa.column("hash", sa.String),
        sa.column("occurred_at", sa.DateTime(timezone=True)),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("details", sa.JSON),
        sa.column("ip_address", sa.String),
    )
    addresses = sa.table("audit_addresses", sa.column("entry_id"), sa.column("ip_address"))
    connection = op.get_bind()
    rows = connection.execute(sa.select(entries).order_by(entries.c.id)).all()
    prev, seq = GENESIS, 0
    for row in rows:
        seq += 1
        occurred_at = row.occurred_at
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        digest = hashlib.sha256(
            _canonical(
                seq, prev, occurred_at, row.actor_id, row.action, row.object_type,
                row.object_id, row.details or {},
            )
        ).hexdigest()
        connection.execute(
            entries.update()
            .where(entries.c.id == row.id)
            .values(seq=seq, prev_hash=prev, hash=digest, details=row.details or {})
        )
        if row.ip_address:
            connection.execute(addresses.insert().values(entry_id=row.id, ip_address=row.ip_address))
        prev = digest
    head = sa.table(
        "audit_chain_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash")
    )
    connection.execute(head.insert().values(id=1, last_seq=seq, last_hash=prev))


def upgrade():
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', BIG_ID, nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_addresses',
    sa.Column('entry_id', BIG_ID, nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['audit_entries.id'], name=op.f('fk_audit_addresses_entry_id_audit_entries')),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_audit_addresses'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=BIG_ID, nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('ix_audit_entries_action', ['action'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_seq'), ['seq'])
        batch_op.drop_column('ip_address')
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION refuse_audit_change()")
    else:
        op.execute("DROP TRIGGER audit_entries_no_update")
        op.execute("DROP TRIGGER audit_entries_no_delete")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip_address', sa.VARCHAR(length=45), nullable=True))
    op.execute(
        "UPDATE audit_entries SET ip_address = (SELECT ip_address FROM audit_addresses "
        "WHERE audit_addresses.entry_id = audit_entries.id)"
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_seq'), type_='unique')
        batch_op.drop_index('ix_audit_entries_action')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')

    op.drop_table('audit_addresses')
    op.drop_table('audit_chain_head')
