"""Alembic migrations, applied by `coach db upgrade` (and automatically for the default SQLite file)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent


class DatabaseNotMigrated(RuntimeError):
    """The database schema is behind the code."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


def prepare_database(engine: Engine, settings) -> None:
    """Migrate the default SQLite file in place; refuse to serve any other database that is behind."""
    if engine.url.get_backend_name() == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        upgrade(engine)
        return
    if current_revision(engine) != head_revision(engine):
        raise DatabaseNotMigrated(
            f"the database at {engine.url.render_as_string(hide_password=True)} is not migrated: "
            "run `coach db upgrade` first"
        )
