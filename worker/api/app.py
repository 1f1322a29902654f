"""The app factory: the REST API under ``/api/v1``, OpenAPI at ``/openapi.json``,
the pane at ``/`` (``server.py`` serves it)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from worker.api import documents, errors
from worker.api.dependencies import Services
from worker.api.limits import BodyLimit
from worker.api.pane import pages, site
from worker.api.pane.security import PaneSessions, SecurityHeaders
from worker.api.routes import deliveries, project, sessions, store, webhooks

PANE = Path(__file__).parent / "pane"
# Swagger UI's script and style, from the fastapi-offline package.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DESCRIPTION = """hookflow's REST API: webhooks, secrets, sessions, processes, deliveries
and documents of a project. Every request carries `Authorization: Bearer <key>`
(`hookflow keys create --project P`); a project key reaches its own project only."""


def api_docs() -> HTMLResponse:
    """The API's reference (Swagger UI), every asset served from here."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="hookflow API",
        swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/api/docs/assets/swagger-ui.css",
        swagger_favicon_url="/api/docs/assets/favicon.png",
    )


def create_app(services: Services) -> FastAPI:
    """The API and the pane against the services' store and Temporal (its
    client, or connected on first use from the settings)."""
    settings = services.settings
    app = FastAPI(
        title="hookflow",
        version="1",
        description=DESCRIPTION,
        docs_url=None,  # served below, with assets of the package: no CDN
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app, html=site.error_page)
    app.add_exception_handler(site.SignIn, site.to_sign_in)
    for module in (webhooks, store, sessions, deliveries, documents, project):
        app.include_router(module.router)
    app.include_router(site.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=PANE / "static"), name="static")
    app.mount("/api/docs/assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.add_api_route("/api/docs", api_docs, include_in_schema=False)
    # Sessions on the server: the cookie is an id; Secure over HTTPS (or when asked).
    app.add_middleware(
        PaneSessions, store=services.pane_sessions, secure=settings.pane_secure_cookie
    )
    # A body over its limit is refused before anything reads it.
    app.add_middleware(
        BodyLimit, limit=settings.max_request_bytes, upload_limit=settings.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders)  # on every answer, a 413 included
    return app
