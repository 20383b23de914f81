"""The ASGI application uvicorn serves (`coach.main:app`), with JSON logs."""

import sys

from coach.api.app import create_app
from coach.migrations import DatabaseNotMigrated
from coach.observability import configure_logging

configure_logging()
try:
    app = create_app()
except DatabaseNotMigrated as exc:
    sys.exit(f"coach: {exc}")
