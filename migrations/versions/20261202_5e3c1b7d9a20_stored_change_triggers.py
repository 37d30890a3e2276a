"""the database keeps stored text changes: never deleted, never moved to another version or
scope, never reopened once ended, and fixed (apart from the editorial mark) with their version

Revision ID: 5e3c1b7d9a20
Revises: 1fa1368a43f2
Create Date: 2026-12-02 16:15:00

Decisions link to ``text_changes`` (and to their spans) by id, so a change id must never point
at other text. The ORM guards of app/plans/changes.py are the first line; these triggers are
the last, below whatever goes around the ORM (Core statements, raw SQL):

- a row of ``text_changes`` is never deleted (an edit that makes a change disappear ends it);
  on SQLite this also keeps its id from being given again;
- its ``version_id`` and ``scope`` never change, and an ended change stays ended at its time;
- once its version is frozen or adopted, only the editorial mark (``editorial``,
  ``editorial_note``, ``editorial_by_id``, ``editorial_at``, ``updated_at``) may change, and the
  rows of ``text_change_paragraphs`` and ``text_change_spans`` neither change nor go.

Inserts are left to the ORM guard: ``flask plans backfill-changes`` stores the changes of
versions frozen before changes were stored. A batch migration on SQLite that copies one of
these tables drops its triggers and must create them again (the statements below).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5e3c1b7d9a20'
down_revision = '1fa1368a43f2'
branch_labels = None
depends_on = None

KEPT = "stored text changes are never deleted, moved or reopened"
FIXED = "the changes of a frozen or adopted version cannot be changed"
ROWS = ("text_change_paragraphs", "text_change_spans")
#: Columns of text_changes that only an unfixed (draft) version's change may change.
TEXT_COLUMNS = ("kind", "moved", "old_section_id", "new_section_id", "ended_at", "created_at")


def _fixed(row: str) -> str:
    return f"(SELECT status FROM plan_versions WHERE id = {row}.version_id) <> 'draft'"


def _changed(columns, distinct: str) -> str:
    return " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in columns)


def _sqlite_statements() -> list[str]:
    moved = _changed(("id", "version_id", "scope"), "IS NOT")
    reopened = "(OLD.ended_at IS NOT NULL AND NEW.ended_at IS NOT OLD.ended_at)"
    statements = [
        "CREATE TRIGGER text_changes_no_delete BEFORE DELETE ON text_changes "
        f"BEGIN SELECT RAISE(ABORT, '{KEPT}'); END",
        "CREATE TRIGGER text_changes_kept BEFORE UPDATE ON text_changes "
        f"WHEN {moved} OR {reopened} BEGIN SELECT RAISE(ABORT, '{KEPT}'); END",
        "CREATE TRIGGER text_changes_fixed_version BEFORE UPDATE ON text_changes "
        f"WHEN {_fixed('OLD')} AND ({_changed(TEXT_COLUMNS, 'IS NOT')}) "
        f"BEGIN SELECT RAISE(ABORT, '{FIXED}'); END",
    ]
    for table in ROWS:
        statements += [
            f"CREATE TRIGGER {table}_fixed_version_update BEFORE UPDATE ON {table} "
            f"WHEN {_fixed('OLD')} OR {_fixed('NEW')} BEGIN SELECT RAISE(ABORT, '{FIXED}'); END",
            f"CREATE TRIGGER {table}_fixed_version_delete BEFORE DELETE ON {table} "
            f"WHEN {_fixed('OLD')} BEGIN SELECT RAISE(ABORT, '{FIXED}'); END",
        ]
    return statements


def _postgresql_statements() -> list[str]:
    fixed = "EXISTS (SELECT 1 FROM plan_versions WHERE id = {row}.version_id AND status <> 'draft')"
    moved = _changed(("id", "version_id", "scope"), "IS DISTINCT FROM")
    text_columns = _changed(TEXT_COLUMNS, "IS DISTINCT FROM")
    return [
        f"""
        CREATE FUNCTION keep_text_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                RAISE EXCEPTION '{KEPT}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF {moved}
               OR (OLD.ended_at IS NOT NULL AND NEW.ended_at IS DISTINCT FROM OLD.ended_at) THEN
                RAISE EXCEPTION '{KEPT}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF ({text_columns}) AND {fixed.format(row="OLD")} THEN
                RAISE EXCEPTION '{FIXED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END;
        $$
        """,
        "CREATE TRIGGER text_changes_kept BEFORE UPDATE OR DELETE ON text_changes "
        "FOR EACH ROW EXECUTE FUNCTION keep_text_changes()",
        "CREATE TRIGGER text_changes_no_truncate BEFORE TRUNCATE ON text_changes "
        "FOR EACH STATEMENT EXECUTE FUNCTION keep_text_changes()",
        f"""
        CREATE FUNCTION refuse_fixed_change_rows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {fixed.format(row="OLD")}
               OR (TG_OP = 'UPDATE' AND {fixed.format(row="NEW")}) THEN
                RAISE EXCEPTION '{FIXED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        END;
        $$
        """,
        *(
            f"CREATE TRIGGER {table}_fixed_version BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_fixed_change_rows()"
            for table in ROWS
        ),
    ]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql_statements() if postgresql else _sqlite_statements():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in ROWS:
            op.execute(f"DROP TRIGGER {table}_fixed_version ON {table}")
        op.execute("DROP TRIGGER text_changes_no_truncate ON text_changes")
        op.execute("DROP TRIGGER text_changes_kept ON text_changes")
        op.execute("DROP FUNCTION refuse_fixed_change_rows()")
        op.execute("DROP FUNCTION keep_text_changes()")
    else:
        for name in ("text_changes_no_delete", "text_changes_kept", "text_changes_fixed_version"):
            op.execute(f"DROP TRIGGER {name}")
        for table in ROWS:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_fixed_version_{event}")
