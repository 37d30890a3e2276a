"""stored text changes and round response versions

Revision ID: 9236a69ac087
Revises: 5e7a0c1d2b3f
Create Date: 2026-12-02 01:35:34.018327

Issue 13, first step: the changes between a version and its predecessor become stored rows
with stable ids (text_changes, the paragraphs each covers, the spans of words it narrows to),
and a round names its response version.

No data is moved here: the stored changes of versions made before this revision are computed
by the application (``flask plans sync-changes``, run once after upgrading; it fills only
versions that have none, frozen ones included). Computing them takes the lineage and the word
alignment of app/plans/changes.py, which a migration should not freeze a copy of.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9236a69ac087'
down_revision = '5e7a0c1d2b3f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('text_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('paragraph', 'section', name='scope', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('kind', sa.Enum('edited', 'added', 'removed', 'split', 'merged', 'moved', 'renamed', name='kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('moved', sa.Boolean(), nullable=False),
    sa.Column('old_section_id', sa.Integer(), nullable=True),
    sa.Column('new_section_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('editorial', sa.Boolean(), nullable=False),
    sa.Column('editorial_note', sa.Text(), nullable=False),
    sa.Column('editorial_by_id', sa.Integer(), nullable=True),
    sa.Column('editorial_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(scope = 'paragraph' AND kind IN ('edited', 'added', 'removed', 'split', 'merged', 'moved')) OR (scope = 'section' AND kind IN ('added', 'removed', 'renamed', 'moved'))", name=op.f('ck_text_changes_kind_fits_scope')),
    sa.CheckConstraint("scope = 'section' OR (old_section_id IS NULL AND new_section_id IS NULL)", name=op.f('ck_text_changes_sections_only_for_section_changes')),
    sa.CheckConstraint('editorial OR (editorial_by_id IS NULL AND editorial_at IS NULL)', name=op.f('ck_text_changes_editorial_who_when_only_if_editorial')),
    sa.ForeignKeyConstraint(['editorial_by_id'], ['users.id'], name=op.f('fk_text_changes_editorial_by_id_users')),
    sa.ForeignKeyConstraint(['new_section_id'], ['plan_sections.id'], name=op.f('fk_text_changes_new_section_id_plan_sections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['old_section_id'], ['plan_sections.id'], name=op.f('fk_text_changes_old_section_id_plan_sections')),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_text_changes_version_id_plan_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_changes'))
    )
    with op.batch_alter_table('text_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_text_changes_new_section_id'), ['new_section_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_text_changes_old_section_id'), ['old_section_id'], unique=False)
        batch_op.create_index('ix_text_changes_version_current', ['version_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_text_changes_version_id'), ['version_id'], unique=False)

    op.create_table('text_change_paragraphs',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('old', 'new', name='side', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('paragraph_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['text_changes.id'], name=op.f('fk_text_change_paragraphs_change_id_text_changes')),
    sa.ForeignKeyConstraint(['paragraph_id'], ['plan_paragraphs.id'], name=op.f('fk_text_change_paragraphs_paragraph_id_plan_paragraphs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_text_change_paragraphs_version_id_plan_versions')),
    sa.PrimaryKeyConstraint('change_id', 'side', 'paragraph_id', name=op.f('pk_text_change_paragraphs'))
    )
    with op.batch_alter_table('text_change_paragraphs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_text_change_paragraphs_paragraph_id'), ['paragraph_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_text_change_paragraphs_version_id'), ['version_id'], unique=False)

    op.create_table('text_change_spans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('old_paragraph_id', sa.Integer(), nullable=True),
    sa.Column('old_start', sa.Integer(), nullable=False),
    sa.Column('old_end', sa.Integer(), nullable=False),
    sa.Column('old_text', sa.Text(), nullable=False),
    sa.Column('new_paragraph_id', sa.Integer(), nullable=True),
    sa.Column('new_start', sa.Integer(), nullable=False),
    sa.Column('new_end', sa.Integer(), nullable=False),
    sa.Column('new_text', sa.Text(), nullable=False),
    sa.CheckConstraint('new_end >= new_start', name=op.f('ck_text_change_spans_new_offsets_ordered')),
    sa.CheckConstraint('old_end >= old_start', name=op.f('ck_text_change_spans_old_offsets_ordered')),
    sa.CheckConstraint('old_start >= 0 AND new_start >= 0', name=op.f('ck_text_change_spans_offsets_not_negative')),
    sa.ForeignKeyConstraint(['change_id'], ['text_changes.id'], name=op.f('fk_text_change_spans_change_id_text_changes')),
    sa.ForeignKeyConstraint(['new_paragraph_id'], ['plan_paragraphs.id'], name=op.f('fk_text_change_spans_new_paragraph_id_plan_paragraphs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['old_paragraph_id'], ['plan_paragraphs.id'], name=op.f('fk_text_change_spans_old_paragraph_id_plan_paragraphs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['plan_versions.id'], name=op.f('fk_text_change_spans_version_id_plan_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_change_spans'))
    )
    with op.batch_alter_table('text_change_spans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_text_change_spans_change_id'), ['change_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_text_change_spans_version_id'), ['version_id'], unique=False)

    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_version_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_rounds_response_version_id'), ['response_version_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_rounds_response_version_id_plan_versions'), 'plan_versions', ['response_version_id'], ['id'])



def downgrade():
    with op.batch_alter_table('rounds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rounds_response_version_id_plan_versions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_rounds_response_version_id'))
        batch_op.drop_column('response_version_id')

    with op.batch_alter_table('text_change_spans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_text_change_spans_version_id'))
        batch_op.drop_index(batch_op.f('ix_text_change_spans_change_id'))

    op.drop_table('text_change_spans')
    with op.batch_alter_table('text_change_paragraphs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_text_change_paragraphs_version_id'))
        batch_op.drop_index(batch_op.f('ix_text_change_paragraphs_paragraph_id'))

    op.drop_table('text_change_paragraphs')
    with op.batch_alter_table('text_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_text_changes_version_id'))
        batch_op.drop_index('ix_text_changes_version_current')
        batch_op.drop_index(batch_op.f('ix_text_changes_old_section_id'))
        batch_op.drop_index(batch_op.f('ix_text_changes_new_section_id'))

    op.drop_table('text_changes')
