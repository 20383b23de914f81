"""/docs (Swagger UI) and /redoc, served from the app's own static files: they work offline.

The vendored bundles sit in web/static under their versioned names, each with its licence."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from coach.api.middleware import CONTENT_SECURITY_POLICY
from coach.api.templating import templates

SWAGGER_UI = "5.35.0"
REDOC = "2.5.4"

# Redoc runs its search in a worker made from a blob: the docs pages allow that, scripts stay strict
# (their run-time <style> elements are allowed by the app-wide policy).
DOCS_POLICY = CONTENT_SECURITY_POLICY + "; worker-src 'self' blob:"

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str) -> HTMLResponse:
    context = {
        "title": request.app.title, "openapi_url": request.app.openapi_url,
        "swagger_js": f"swagger-ui-bundle-{SWAGGER_UI}.js", "swagger_css": f"swagger-ui-{SWAGGER_UI}.css",
        "redoc_js": f"redoc.standalone-{REDOC}.js",
    }
    response = templates.TemplateResponse(request, f"docs/{name}", context)
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request):
    return _page(request, "swagger.html")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request):
    return _page(request, "redoc.html")
