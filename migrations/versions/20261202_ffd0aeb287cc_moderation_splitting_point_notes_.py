"""moderation splitting, point notes, redactions and publication hides: notes may name a
point; redactions (ranges of an observation's body_text the public reads as [omissis]) and
items hidden from publication, each with who, when, why, lifted rather than deleted

Revision ID: ffd0aeb287cc
Revises: 5e7a0c1d2b3f
Create Date: 2026-12-02 01:36:40.795154

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "ffd0aeb287cc"
down_revision = "5e7a0c1d2b3f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "redactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("start_offset", sa.Integer(), nullable=False),
        sa.Column("end_offset", sa.Integer(), nullable=False),
        sa.Column("replacement", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_redactions_reason_not_empty")),
        sa.CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by_id IS NULL)",
            name=op.f("ck_redactions_lifted_by_iff_lifted"),
        ),
        sa.CheckConstraint(
            "start_offset >= 0 AND end_offset > start_offset",
            name=op.f("ck_redactions_range_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_redactions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_redactions_lifted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["observations.id"],
            name=op.f("fk_redactions_observation_id_observations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redactions")),
    )
    with op.batch_alter_table("redactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_redactions_observation_id"), ["observation_id"], unique=False
        )

    op.create_table(
        "publication_hides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hidden_by_id", sa.Integer(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_publication_hides_reason_not_empty")),
        sa.CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by_id IS NULL)",
            name=op.f("ck_publication_hides_lifted_by_iff_lifted"),
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_id"], ["users.id"], name=op.f("fk_publication_hides_hidden_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_publication_hides_lifted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["observations.id"],
            name=op.f("fk_publication_hides_observation_id_observations"),
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["points.id"], name=op.f("fk_publication_hides_point_id_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_hides")),
    )
    with op.batch_alter_table("publication_hides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publication_hides_observation_id"), ["observation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publication_hides_point_id"), ["point_id"], unique=False
        )

    with op.batch_alter_table("internal_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("point_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_internal_notes_point_id"), ["point_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_internal_notes_point_id_points"), "points", ["point_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("internal_notes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_internal_notes_point_id_points"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_internal_notes_point_id"))
        batch_op.drop_column("point_id")

    with op.batch_alter_table("publication_hides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publication_hides_point_id"))
        batch_op.drop_index(batch_op.f("ix_publication_hides_observation_id"))

    op.drop_table("publication_hides")
    with op.batch_alter_table("redactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redactions_observation_id"))

    op.drop_table("redactions")
