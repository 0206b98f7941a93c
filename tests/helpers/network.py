"""Where this machine's servers listen, read from the kernel (/proc), and what a client gets
from them: the live security tests use it for the development and production stacks."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

LISTEN = "0A"  # TCP state in /proc/net/tcp*


def _address(hex_address: str) -> str:
    """An address as /proc/net/tcp{,6} writes it: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every socket listening on TCP `port`, IPv4 and IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def non_loopback_addresses() -> list[str]:
    """This machine's own IPv4 addresses other than loopback (the kernel's LOCAL routes)."""
    found, last = [], None
    for line in Path("/proc/net/fib_trie").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith(("|--", "+--")):
            last = stripped[3:].split()[0]
        elif "/32 host LOCAL" in stripped and last and not last.startswith("127."):
            found.append(last)
    return sorted(set(found))


def refuses_connections(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        return sock.connect_ex((address, port)) != 0


def call(
    url: str,
    payload: object | None = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body), for error statuses too."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, answered, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, answered, body = error.code, error.headers, error.read()
    return status, {name.lower(): value for name, value in answered.items()}, body


def listens_on_loopback_only(ports: dict[str, int]) -> None:
    """Each server's listening sockets are loopback only, as the kernel reports them, and a
    connection to any other address of this machine is refused."""
    for name, port in ports.items():
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on the {name} port {port}"
        assert all(is_loopback(address) for address in addresses), (name, addresses)
        for address in non_loopback_addresses():
            assert refuses_connections(address, port), (name, address, port)
