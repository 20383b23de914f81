"""The ASGI application uvicorn serves (`coach.main:app`)."""

from coach.api.app import create_app

app = create_app()
