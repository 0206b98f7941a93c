"""Alembic environment for shopdesk's own tables (run by `shopdesk db upgrade`)."""

from __future__ import annotations

from alembic import context

from bot.storage.database import VERSION_TABLE, Base, engine_for

# The models register their tables on Base when imported.
import bot.storage.conversation_index  # noqa: F401  isort: skip
import bot.answers.order_lookups  # noqa: F401  isort: skip
import bot.storage.new_intents  # noqa: F401  isort: skip
import bot.storage.handoffs_and_feedback  # noqa: F401  isort: skip
import bot.storage.reviews  # noqa: F401  isort: skip
import bot.storage.staff  # noqa: F401  isort: skip

config = context.config
url = config.get_main_option("sqlalchemy.url")

if context.is_offline_mode():
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_for(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=VERSION_TABLE,
            # SQLite cannot ALTER most things; batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
