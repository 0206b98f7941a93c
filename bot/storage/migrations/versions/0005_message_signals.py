"""Frustration and language per indexed message, and their counts per conversation.

The index is derived from Rasa's `events` table, so rather than re-reading every event's
JSON here the upgrade empties it: the next sync (`bot/storage/conversation_index.py`) rebuilds it
from the whole log with the new columns filled, exactly as for new events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX_TABLES = ("message_index", "conversation_index", "index_state")


def _clear_index() -> None:
    """Forget the index and its watermark, so every logged event is applied again."""
    for table in INDEX_TABLES:
        op.execute(sa.text(f"DELETE FROM {table}"))


def upgrade() -> None:
    with op.batch_alter_table("message_index") as batch:
        batch.add_column(sa.Column("frustrated", sa.Boolean))
        batch.add_column(sa.Column("language", sa.String(16)))
    with op.batch_alter_table("conversation_index") as batch:
        batch.add_column(
            sa.Column("frustrated_messages", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("other_language_messages", sa.Integer, nullable=False, server_default="0")
        )
    _clear_index()


def downgrade() -> None:
    with op.batch_alter_table("conversation_index") as batch:
        batch.drop_column("other_language_messages")
        batch.drop_column("frustrated_messages")
    with op.batch_alter_table("message_index") as batch:
        batch.drop_column("language")
        batch.drop_column("frustrated")
