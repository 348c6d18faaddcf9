"""Alembic environment for the side-by-side benchmark: DATABASE_URL, one transaction per
revision (as pangeo_forge runs them), batch mode so SQLite can run the whole history."""
import os

from alembic import context
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
