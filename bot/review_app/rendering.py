"""Jinja2 templates, autoescaped: every customer message is hostile input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import Request
from sanic.response import HTTPResponse, html

TEMPLATES = Path(__file__).resolve().parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["quote"] = lambda value: quote(str(value), safe="")
environment.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else ""
environment.filters["percent"] = lambda value: "" if value is None else f"{100 * float(value):.0f}%"


def page_url(path: str, params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})
    return f"{path}?{query}" if query else path


environment.globals["page_url"] = page_url


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTTPResponse:
    session = getattr(request.ctx, "session", None)
    body = environment.get_template(template).render(
        staff=session.member if session else None,
        csrf_token=session.csrf_token if session else "",
        path=request.path,
        now=dt.datetime.utcnow(),
        **context,
    )
    # The security headers and `Cache-Control: no-store` are added to every response,
    # this one included, by bot.review_app.security.security_headers.
    return html(body, status=status)
