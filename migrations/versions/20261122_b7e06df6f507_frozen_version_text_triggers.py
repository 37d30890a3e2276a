"""the database refuses changes to the text of a frozen or adopted version

Revision ID: b7e06df6f507
Revises: ad8963badfe3
Create Date: 2026-11-22 06:10:00.000000

The ORM refuses these changes first, with a message for the editor (app/plans/models.py); these
triggers are the last line, for what goes around the ORM's unit of work: bulk mappings, Core
statements on a connection, raw SQL. A row of plan_sections, plan_paragraphs or
paragraph_lineage may be inserted, updated or deleted only while the version it belongs to (and,
for a paragraph, the version of its section) is a draft, before and after an update.

A row whose version no longer exists is let through (the lookup finds nothing): the test suite
empties SQLite by deleting versions first, with foreign keys checked at commit.

On SQLite, a later batch operation that copies one of these tables drops its triggers: such a
migration must create them again.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7e06df6f507'
down_revision = 'ad8963badfe3'
branch_labels = None
depends_on = None

TABLES = ("plan_sections", "plan_paragraphs", "paragraph_lineage")
MESSAGE = "the text of a frozen or adopted version cannot be changed"


def _fixed(row: str) -> str:
    """SQL true when the row's version is no longer a draft."""
    return f"(SELECT status FROM plan_versions WHERE id = {row}.version_id) <> 'draft'"


def _fixed_section(row: str) -> str:
    """SQL true when the version of the paragraph's section is no longer a draft."""
    return (
        "(SELECT v.status FROM plan_sections s JOIN plan_versions v ON v.id = s.version_id "
        f"WHERE s.id = {row}.section_id) <> 'draft'"
    )


def _sqlite_conditions(table: str, row: str) -> list[str]:
    conditions = [_fixed(row)]
    if table == "plan_paragraphs":
        conditions.append(_fixed_section(row))
    return conditions


def _upgrade_sqlite() -> None:
    for table in TABLES:
        rows = {"insert": ["NEW"], "update": ["NEW", "OLD"], "delete": ["OLD"]}
        for event, names in rows.items():
            condition = " OR ".join(c for row in names for c in _sqlite_conditions(table, row))
            op.execute(
                f"CREATE TRIGGER {table}_fixed_version_{event} BEFORE {event.upper()} ON {table} "
                f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def _upgrade_postgresql() -> None:
    version = (
        "EXISTS (SELECT 1 FROM plan_versions WHERE id = {row}.version_id AND status <> 'draft')"
    )
    section = (
        "EXISTS (SELECT 1 FROM plan_sections s JOIN plan_versions v ON v.id = s.version_id "
        "WHERE s.id = {row}.section_id AND v.status <> 'draft')"
    )
    op.execute(
        f"""
        CREATE FUNCTION refuse_fixed_version_text() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            fixed boolean := false;
        BEGIN
            IF TG_OP <> 'DELETE' THEN
                fixed := {version.format(row="NEW")};
            END IF;
            IF TG_OP <> 'INSERT' AND NOT fixed THEN
                fixed := {version.format(row="OLD")};
            END IF;
            IF TG_TABLE_NAME = 'plan_paragraphs' THEN
                IF TG_OP <> 'DELETE' AND NOT fixed THEN
                    fixed := {section.format(row="NEW")};
                END IF;
                IF TG_OP <> 'INSERT' AND NOT fixed THEN
                    fixed := {section.format(row="OLD")};
                END IF;
            END IF;
            IF fixed THEN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN
                RETURN OLD;
            END IF;
            RETURN NEW;
        END;
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_fixed_version BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_fixed_version_text()"
        )


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_fixed_version ON {table}")
        op.execute("DROP FUNCTION refuse_fixed_version_text()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_fixed_version_{event}")
