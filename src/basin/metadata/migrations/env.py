"""Alembic environment for Basin's metadata store, driven from :mod:`basin.metadata.store`."""

from alembic import context

from basin.metadata.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
