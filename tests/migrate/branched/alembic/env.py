"""Alembic's side of the branched-history comparison: DATABASE_URL, one transaction per
revision, as pangeo-forge runs them."""
import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
