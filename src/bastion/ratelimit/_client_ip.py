"""The client's IP address, honouring forwarding headers only from trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Literal

from starlette.requests import HTTPConnection
from starlette.types import Scope

__all__ = ["UNKNOWN_CLIENT", "ForwardedHeader", "TrustedProxies", "client_ip"]

#: The client `client_ip` names behind trusted proxies when the peer is not an address.
UNKNOWN_CLIENT = "unknown"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The forwarding header a trusted proxy writes: one, never both.
ForwardedHeader = Literal["X-Forwarded-For", "Forwarded"]
_HEADER_NAMES = {"x-forwarded-for": b"x-forwarded-for", "forwarded": b"forwarded"}


class TrustedProxies:
    """A parsed set of proxy CIDRs (`10.0.0.0/8`, `::1`, a bare address is a /32 or /128).

    Args:
        cidrs: The networks whose forwarding header is believed.
        header: The one header those proxies write (`X-Forwarded-For` or
            `Forwarded`); the other is never read, so a client cannot send
            it past the proxy to name itself.

    Raises:
        ValueError: A CIDR is malformed, or `header` is neither of the two.
    """

    __slots__ = ("header", "networks")

    def __init__(
        self,
        cidrs: Iterable[str | IPNetwork] = (),
        *,
        header: ForwardedHeader = "X-Forwarded-For",
    ) -> None:
        """Parse `cidrs` (host bits set are tolerated: `10.0.0.1/8` means `10.0.0.0/8`)."""
        self.networks: tuple[IPNetwork, ...] = tuple(
            n if not isinstance(n, str) else ipaddress.ip_network(n.strip(), strict=False)
            for n in cidrs
        )
        name = _HEADER_NAMES.get(str(header).lower())
        if name is None:
            raise ValueError(
                f"the forwarding header must be X-Forwarded-For or Forwarded: {header!r}"
            )
        #: The raw ASGI name (lowercase bytes) of the one header read.
        self.header = name

    def __bool__(self) -> bool:
        """Whether any proxy is trusted."""
        return bool(self.networks)

    def __contains__(self, address: object) -> bool:
        """Whether `address` lies in a trusted network."""
        if not isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def _parse_ip(value: str) -> IPAddress | None:
    """Parse one address from a header hop: strips quotes, `[v6]:port` and `v4:port`."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    # An IPv6 zone (`%eth0`) names an interface of the host that saw the address, not
    # another client: dropped, so its spellings cannot make new clients.
    value = value.partition("%")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _forwarded_hops(headers: list[tuple[bytes, bytes]], header: bytes) -> list[str]:
    """The hops of the one `header` read, left to right, every occurrence in order.

    `Forwarded` hops are its elements' RFC 7239 `for=` values (an element
    without one is an empty hop, which is not an address).
    """
    hops: list[str] = []
    for name, value in headers:
        if name != header:
            continue
        if header == b"x-forwarded-for":
            hops.extend(value.decode("latin-1").split(","))
            continue
        for element in value.decode("latin-1").split(","):
            hop = ""
            for pair in element.split(";"):
                key, _, item = pair.strip().partition("=")
                if key.lower() == "for":
                    hop = item
            hops.append(hop)
    return hops


def client_ip(
    source: Scope | HTTPConnection, trusted_proxies: TrustedProxies | Iterable[str] = ()
) -> str | None:
    """The address of the client that sent the request.

    The socket peer is the client unless it is a trusted proxy. Then the hops
    of the one header the proxies write (`TrustedProxies.header`:
    `X-Forwarded-For` by default, or `Forwarded`) are walked right to left,
    skipping trusted proxies; the first untrusted address is the client. The
    other header is never read: the proxy passes it through from the client
    unchanged. A hop that is not an address (`unknown`, garbage) stops the
    walk: the last trusted hop is returned, so a forged header can neither
    pick a victim's bucket nor mint new ones. Headers from an untrusted peer
    change nothing. With trusted proxies, a peer that is not an address (the
    server took it from a forwarding header, as uvicorn's proxy headers do) is
    `UNKNOWN_CLIENT`, one client for every budget, and any address found is
    given in one canonical form.

    Args:
        source: An ASGI scope or a Starlette `Request`/`WebSocket`.
        trusted_proxies: Parsed `TrustedProxies` (parse once and reuse), or
            CIDR strings of proxies that write `X-Forwarded-For`.

    Returns:
        The address (canonical behind trusted proxies), `UNKNOWN_CLIENT`, or None
        when the server gave no peer.
    """
    # `HTTPConnection` is an ABC (a slow isinstance); a scope is a plain dict.
    scope: Scope = (
        source if type(source) is dict or not isinstance(source, HTTPConnection) else source.scope
    )
    client = scope.get("client")
    if not client:
        return None
    peer_text: str = client[0]
    proxies = (
        trusted_proxies
        if isinstance(trusted_proxies, TrustedProxies)
        else TrustedProxies(trusted_proxies)
    )
    if not proxies.networks:
        return peer_text
    peer = _parse_ip(peer_text)
    if peer is None:
        # Behind proxies, a peer that is not an address was taken from a forwarding
        # header by the server (uvicorn's proxy headers do): a client may have written
        # it. All such clients are one, counted by every per-IP budget together.
        return UNKNOWN_CLIENT
    if peer not in proxies:
        return str(peer)
    hops = _forwarded_hops(scope.get("headers", []), proxies.header)
    if not hops:
        return str(peer)
    last_trusted = peer
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            break
        if address not in proxies:
            return str(address)
        last_trusted = address
    return str(last_trusted)
