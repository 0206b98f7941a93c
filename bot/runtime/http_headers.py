"""Security headers on every response of a Sanic app, shared by the review app and the web chat.

A response middleware rather than headers set by each handler: Sanic sends redirects, error
pages (404, 405, 500) and static files without calling our handlers, and those need the
headers as much as the pages do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sanic import Request
from sanic.response import HTTPResponse

HeadersFor = Callable[[Request], Mapping[str, str]]


def add_headers(response: HTTPResponse, headers: Mapping[str, str]) -> None:
    """Set each of `headers` that the handler did not set itself."""
    for name, value in headers.items():
        response.headers.setdefault(name, value)


def headers_middleware(
    headers_for: HeadersFor,
) -> Callable[[Request, HTTPResponse], Awaitable[None]]:
    """A response middleware adding `headers_for(request)` to every response."""

    async def security_headers(request: Request, response: HTTPResponse) -> None:
        add_headers(response, headers_for(request))

    return security_headers
