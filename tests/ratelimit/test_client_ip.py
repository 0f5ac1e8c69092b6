"""Client IP: the socket peer unless a trusted proxy forwarded the request."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from bastion.ratelimit import TrustedProxies, client_ip

PROXIES = TrustedProxies(["10.0.0.0/8", "fd00::/8"])


def _scope(peer: str | None, *headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 5000) if peer else None,
        "headers": list(headers),
    }


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # Untrusted peers: headers change nothing.
        ("203.0.113.9", [(b"x-forwarded-for", b"1.1.1.1")], "203.0.113.9"),
        ("203.0.113.9", [(b"forwarded", b"for=1.1.1.1")], "203.0.113.9"),
        # A trusted proxy: the rightmost untrusted hop is the client.
        ("10.0.0.2", [(b"x-forwarded-for", b"198.51.100.1")], "198.51.100.1"),
        ("10.0.0.2", [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.1, 10.0.0.9")], "198.51.100.1"),
        (
            "10.0.0.2",
            [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.1")],
            "198.51.100.1",
        ),
        # RFC 7239 Forwarded wins over X-Forwarded-For, with ports and brackets.
        (
            "10.0.0.2",
            [
                (b"x-forwarded-for", b"6.6.6.6"),
                (b"forwarded", b'for="[2001:db8::1]:4711";proto=https'),
            ],
            "2001:db8::1",
        ),
        ("10.0.0.2", [(b"forwarded", b"for=198.51.100.1:80, for=10.1.1.1")], "198.51.100.1"),
        # Garbage stops the walk at the last trusted hop.
        ("10.0.0.2", [(b"x-forwarded-for", b"not-an-ip, 10.0.0.7")], "10.0.0.7"),
        ("10.0.0.2", [(b"forwarded", b"for=unknown")], "10.0.0.2"),
        # Only proxies: the leftmost (oldest) trusted hop.
        ("10.0.0.2", [(b"x-forwarded-for", b"10.9.9.9, 10.0.0.7")], "10.9.9.9"),
        # A trusted proxy without headers is the client itself; IPv6 and mapped IPv4.
        ("10.0.0.2", [], "10.0.0.2"),
        ("fd00::1", [(b"x-forwarded-for", b"2001:db8:0:0::7")], "2001:db8::7"),
        ("::ffff:10.0.0.2", [(b"x-forwarded-for", b"198.51.100.1")], "198.51.100.1"),
    ],
)
def test_client_ip_walks_forwarding_headers_only_from_trusted_proxies(
    peer: str, headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    assert client_ip(_scope(peer, *headers), PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    scope = _scope("10.0.0.2", (b"x-forwarded-for", b"1.1.1.1"))
    assert client_ip(scope) == "10.0.0.2"
    assert client_ip(scope, ["10.0.0.0/8"]) == "1.1.1.1"


def test_a_request_object_and_a_missing_peer_are_accepted() -> None:
    request = Request(_scope("10.0.0.2", (b"x-forwarded-for", b"198.51.100.1")))  # type: ignore[arg-type]
    assert client_ip(request, PROXIES) == "198.51.100.1"
    assert client_ip(_scope(None), PROXIES) is None
    assert client_ip(_scope("unix-socket"), PROXIES) == "unix-socket"


def test_trusted_proxies_parse_cidrs_and_refuse_garbage() -> None:
    assert not TrustedProxies()
    assert "10.1.2.3" not in PROXIES  # strings are not addresses
    with pytest.raises(ValueError, match="does not appear"):
        TrustedProxies(["10.0.0.0/33"])
