"""screenings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:05:49.799015
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('screenings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mother_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=16), nullable=False),
    sa.Column('instrument_version', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('translation_validated', sa.Boolean(), nullable=False),
    sa.Column('cutoff_validated', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_item', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('risk', sa.String(length=16), nullable=True),
    sa.Column('subscales', sa.JSON(), nullable=False),
    sa.Column('urgent_items', sa.JSON(), nullable=False),
    sa.Column('rescreen_in_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['mother_id'], ['mothers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screenings_mother_id'), ['mother_id'], unique=False)
        batch_op.create_index('ix_screenings_open', ['status', 'last_activity_at'], unique=False)

    op.create_table('screening_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=False),
    sa.Column('item_number', sa.Integer(), nullable=False),
    sa.Column('option_index', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('screening_id', 'item_number', name='uq_answer_item')
    )
    with op.batch_alter_table('screening_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_answers_screening_id'), ['screening_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('screening_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_answers_screening_id'))

    op.drop_table('screening_answers')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_open')
        batch_op.drop_index(batch_op.f('ix_screenings_mother_id'))

    op.drop_table('screenings')
