"""Who is asking: a request's client address, believing `X-Forwarded-For` only from proxies we
trust (SHOPDESK_TRUSTED_PROXIES).

Shared by everything that counts or records clients by address: the review app's login
limits and the customer channels' rate limits (bot/channels/limits.py). Any other peer's
header is ignored, so a client cannot choose the address it is counted under.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence

from sanic import Request

TRUSTED_PROXIES = "SHOPDESK_TRUSTED_PROXIES"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(proxies: Sequence[str]) -> tuple[Network, ...]:
    """The trusted proxies as networks (`10.0.0.5`, `10.0.0.0/24`); a typo is an error at
    start, not a proxy silently distrusted (or an address silently trusted)."""
    try:
        return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)
    except ValueError as error:
        raise ValueError(f"{TRUSTED_PROXIES}: {error}") from error


def configured_proxies(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """SHOPDESK_TRUSTED_PROXIES as given: addresses or networks, comma-separated."""
    value = (os.environ if environ is None else environ).get(TRUSTED_PROXIES, "")
    return tuple(item.strip() for item in value.split(",") if item.strip())


def trusted_proxies(environ: Mapping[str, str] | None = None) -> tuple[Network, ...]:
    """The trusted proxies from the environment, checked."""
    return proxy_networks(configured_proxies(environ))


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    """Who is asking: the socket's peer, unless it is a trusted proxy; then the nearest
    address in X-Forwarded-For that is not a trusted proxy (entries further left are
    whatever the client wrote, so they are never believed past an untrusted hop)."""
    peer = request.ip or "unknown"
    if not in_networks(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    address = peer
    for hop in reversed([hop for hop in hops if hop]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # not an address: stop at the last hop we could believe
        address = hop
        if not in_networks(hop, trusted):
            return hop
    return address


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    """Whether `address` (any string) lies in one of `networks`."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
