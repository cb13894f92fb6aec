"""Alembic environment: runs as the owner role; URL and app role come from the caller."""
from alembic import context
from sqlalchemy import create_engine, pool

from migrations.metadata import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.attributes["url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
