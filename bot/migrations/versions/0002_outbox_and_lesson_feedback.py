"""outbox and lesson feedback

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:58:56.837649
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mother_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('lesson_slug', sa.String(length=100), nullable=True),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('content_version', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mother_id'], ['mothers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mother_id', 'dedupe_key', name='uq_outbox_mother_dedupe')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_mother_id'), ['mother_id'], unique=False)

    op.create_table('lesson_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('lesson_slug', sa.String(length=100), nullable=False),
    sa.Column('helpful', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('outbox_id')
    )
    with op.batch_alter_table('lesson_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_feedback_lesson_slug'), ['lesson_slug'], unique=False)

    with op.batch_alter_table('babies', schema=None) as batch_op:
        batch_op.create_index('ix_babies_birth', ['status', 'birth_date'], unique=False)
        batch_op.create_index('ix_babies_due', ['status', 'due_date'], unique=False)

    with op.batch_alter_table('mothers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_hour', sa.Integer(), nullable=False, server_default='10'))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mothers', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('delivery_hour')

    with op.batch_alter_table('babies', schema=None) as batch_op:
        batch_op.drop_index('ix_babies_due')
        batch_op.drop_index('ix_babies_birth')

    with op.batch_alter_table('lesson_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_feedback_lesson_slug'))

    op.drop_table('lesson_feedback')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_mother_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
