"""moderation: groups of campaigns and near-duplicates, suggestions, where each tag came from

Hand-checked: similarity_groups and their members, suggestions per point, and a ``source``
(person / suggestion) on observation_tags and point_tags, every existing row a person's.

Revision ID: 1fa1368a43f2
Revises: ffd0aeb287cc
Create Date: 2026-12-02 01:36:49.784687

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1fa1368a43f2'
down_revision = 'ffd0aeb287cc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('similarity_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('proposed', 'confirmed', 'dismissed', name='state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_similarity_groups_decided_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_similarity_groups_round_id_rounds')),
    sa.ForeignKeyConstraint(['template_id'], ['observations.id'], name=op.f('fk_similarity_groups_template_id_observations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_similarity_groups'))
    )
    with op.batch_alter_table('similarity_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similarity_groups_round_id'), ['round_id'], unique=False)

    op.create_table('similarity_group_members',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('adds_something', sa.Boolean(), nullable=False),
    sa.Column('differing_words', sa.Text(), nullable=False),
    sa.Column('missing_words', sa.Text(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('score >= 0 AND score <= 1', name=op.f('ck_similarity_group_members_score_in_range')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_similarity_group_members_added_by_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['similarity_groups.id'], name=op.f('fk_similarity_group_members_group_id_similarity_groups')),
    sa.ForeignKeyConstraint(['observation_id'], ['observations.id'], name=op.f('fk_similarity_group_members_observation_id_observations')),
    sa.PrimaryKeyConstraint('group_id', 'observation_id', name=op.f('pk_similarity_group_members'))
    )
    with op.batch_alter_table('similarity_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_similarity_group_members_observation_id', ['observation_id'], unique=False)

    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('policy_area', 'section', name='kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('policy_area', sa.Enum('agile', 'creativa', 'attrattiva', 'intelligente', 'veloce', 'coesa', name='policy_area', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('open', 'accepted', 'dismissed', name='state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'policy_area') = (policy_area IS NOT NULL) AND (kind = 'section') = (section_id IS NOT NULL)", name=op.f('ck_suggestions_target_matches_kind')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_suggestions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['point_id'], ['points.id'], name=op.f('fk_suggestions_point_id_points')),
    sa.ForeignKeyConstraint(['section_id'], ['plan_sections.id'], name=op.f('fk_suggestions_section_id_plan_sections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions'))
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index('ix_suggestions_point_id', ['point_id'], unique=False)

    with op.batch_alter_table('observation_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Enum('person', 'suggestion', name='source', native_enum=False, create_constraint=True), server_default='person', nullable=False))

    with op.batch_alter_table('point_tags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Enum('person', 'suggestion', name='source', native_enum=False, create_constraint=True), server_default='person', nullable=False))



def downgrade():
    with op.batch_alter_table('point_tags', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_point_tags_source'), type_='check')
        batch_op.drop_column('source')

    with op.batch_alter_table('observation_tags', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_observation_tags_source'), type_='check')
        batch_op.drop_column('source')

    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index('ix_suggestions_point_id')

    op.drop_table('suggestions')
    with op.batch_alter_table('similarity_group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_similarity_group_members_observation_id')

    op.drop_table('similarity_group_members')
    with op.batch_alter_table('similarity_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_similarity_groups_round_id'))

    op.drop_table('similarity_groups')
