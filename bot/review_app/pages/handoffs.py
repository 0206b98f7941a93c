"""The handoffs page (being written)."""

from __future__ import annotations

from sanic import Blueprint

bp = Blueprint("handoffs")
