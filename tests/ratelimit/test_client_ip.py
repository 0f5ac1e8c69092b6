"""Client IP: the socket peer unless a trusted proxy forwarded the request."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends
from pydantic import ValidationError
from starlette.requests import Request

from bastion.auth import Meta
from bastion.ratelimit import UNKNOWN_CLIENT, RateLimit, TrustedProxies, client_ip
from tests.edge import edge_app, edge_settings, serve_as

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
        # A `Forwarded` header is the client's own, passed through: never read.
        (
            "10.0.0.2",
            [(b"x-forwarded-for", b"198.51.100.1"), (b"forwarded", b"for=6.6.6.6")],
            "198.51.100.1",
        ),
        ("10.0.0.2", [(b"forwarded", b"for=6.6.6.6")], "10.0.0.2"),
        # Garbage stops the walk at the last trusted hop.
        ("10.0.0.2", [(b"x-forwarded-for", b"not-an-ip, 10.0.0.7")], "10.0.0.7"),
        # Only proxies: the leftmost (oldest) trusted hop.
        ("10.0.0.2", [(b"x-forwarded-for", b"10.9.9.9, 10.0.0.7")], "10.9.9.9"),
        # A trusted proxy without headers is the client itself; IPv6 and mapped IPv4.
        ("10.0.0.2", [], "10.0.0.2"),
        ("fd00::1", [(b"x-forwarded-for", b"2001:db8:0:0::7")], "2001:db8::7"),
        ("::ffff:10.0.0.2", [(b"x-forwarded-for", b"198.51.100.1")], "198.51.100.1"),
    ],
)
def test_client_ip_walks_x_forwarded_for_only_from_trusted_proxies(
    peer: str, headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    assert client_ip(_scope(peer, *headers), PROXIES) == expected


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.9", [(b"forwarded", b"for=1.1.1.1")], "203.0.113.9"),
        # RFC 7239 hops, with ports, quotes and brackets.
        (
            "10.0.0.2",
            [(b"forwarded", b'for="[2001:db8::1]:4711";proto=https')],
            "2001:db8::1",
        ),
        ("10.0.0.2", [(b"forwarded", b"for=198.51.100.1:80, for=10.1.1.1")], "198.51.100.1"),
        (
            "10.0.0.2",
            [(b"forwarded", b"for=6.6.6.6"), (b"forwarded", b"for=198.51.100.1")],
            "198.51.100.1",
        ),
        # An `X-Forwarded-For` header is the client's own, passed through: never read.
        (
            "10.0.0.2",
            [(b"forwarded", b"for=198.51.100.1"), (b"x-forwarded-for", b"6.6.6.6")],
            "198.51.100.1",
        ),
        ("10.0.0.2", [(b"x-forwarded-for", b"6.6.6.6")], "10.0.0.2"),
        # Garbage, or an element without `for=`, stops the walk at the last trusted hop.
        ("10.0.0.2", [(b"forwarded", b"for=unknown")], "10.0.0.2"),
        ("10.0.0.2", [(b"forwarded", b"for=6.6.6.6, proto=https")], "10.0.0.2"),
    ],
)
def test_client_ip_walks_forwarded_only_when_the_proxies_write_it(
    peer: str, headers: list[tuple[bytes, bytes]], expected: str
) -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "fd00::/8"], header="Forwarded")
    assert client_ip(_scope(peer, *headers), proxies) == expected


def test_the_forwarding_header_is_one_of_the_two_the_proxies_may_write() -> None:
    assert TrustedProxies(header="forwarded").header == b"forwarded"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="X-Forwarded-For or Forwarded"):
        TrustedProxies(["10.0.0.0/8"], header="X-Real-IP")  # type: ignore[arg-type]


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    scope = _scope("10.0.0.2", (b"x-forwarded-for", b"1.1.1.1"))
    assert client_ip(scope) == "10.0.0.2"
    assert client_ip(scope, ["10.0.0.0/8"]) == "1.1.1.1"


def test_a_request_object_and_a_missing_peer_are_accepted() -> None:
    request = Request(_scope("10.0.0.2", (b"x-forwarded-for", b"198.51.100.1")))  # type: ignore[arg-type]
    assert client_ip(request, PROXIES) == "198.51.100.1"
    assert client_ip(_scope(None), PROXIES) is None
    assert client_ip(_scope("unix-socket")) == "unix-socket"


@pytest.mark.parametrize("peer", ["<script>alert(1)</script>", "garbage", "unknown", "x" * 60])
def test_behind_trusted_proxies_a_peer_that_is_not_an_address_is_the_unknown_client(
    peer: str,
) -> None:
    # Such a peer was taken from a forwarding header by the server (uvicorn's proxy
    # headers, which `bastion serve` turns on for the trusted proxies): text a client
    # may have written, which must neither be logged and stored as its address nor
    # key a fresh rate-limit budget per spelling.
    assert client_ip(_scope(peer), PROXIES) == UNKNOWN_CLIENT


async def test_clients_whose_peer_is_not_an_address_share_one_per_ip_budget() -> None:
    settings = edge_settings(trusted_proxies=["10.0.0.0/8"], ratelimit_default=None)
    router = APIRouter(dependencies=[Depends(RateLimit("2/minute"))])

    @router.get("/limited")
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    app = edge_app(settings, router)
    statuses = []
    async with serve_as(app, peer="garbage") as client:
        statuses.append((await client.get("/api/v1/limited")).status_code)
        for peer in ("other-garbage", "<script>", "garbage"):
            async with serve_as(app, peer=peer, lifespan=False) as other:
                statuses.append((await other.get("/api/v1/limited")).status_code)
        async with serve_as(app, peer="198.51.100.7", lifespan=False) as addressed:
            statuses.append((await addressed.get("/api/v1/limited")).status_code)
    assert statuses == [200, 200, 429, 429, 200]


@pytest.mark.parametrize(
    ("peer", "canonical"),
    [
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%1", "fe80::1"),
        ("FE80::1", "fe80::1"),
        ("[2001:db8::7]", "2001:db8::7"),
        ("198.51.100.1:5", "198.51.100.1"),
    ],
)
def test_another_spelling_of_an_address_is_not_another_client(peer: str, canonical: str) -> None:
    assert client_ip(_scope(peer), PROXIES) == canonical


def test_trusted_proxies_parse_cidrs_and_refuse_garbage() -> None:
    assert not TrustedProxies()
    assert "10.1.2.3" not in PROXIES  # strings are not addresses
    with pytest.raises(ValueError, match="does not appear"):
        TrustedProxies(["10.0.0.0/33"])


def _whoami_router() -> APIRouter:
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(meta: Meta) -> dict[str, str | None]:
        return {"ip": meta.ip}  # what a login stores on the session

    return router


@pytest.mark.parametrize(
    ("setting", "proxy_writes", "client_sends"),
    [
        ({}, "x-forwarded-for", "forwarded"),
        ({"forwarded_header": "X-Forwarded-For"}, "x-forwarded-for", "forwarded"),
        ({"forwarded_header": "Forwarded"}, "forwarded", "x-forwarded-for"),
    ],
    ids=["default", "x-forwarded-for", "forwarded"],
)
async def test_a_client_cannot_name_its_own_ip_with_the_header_the_proxy_does_not_write(
    setting: dict[str, str], proxy_writes: str, client_sends: str
) -> None:
    settings = edge_settings(
        trusted_proxies=["10.0.0.0/8"], ratelimit_default="3/minute", **setting
    )
    written = "for=198.51.100.7" if proxy_writes == "forwarded" else "198.51.100.7"
    async with serve_as(edge_app(settings, _whoami_router()), peer="10.0.0.2") as client:
        responses = []
        for n in range(4):
            spoof = f"for=203.0.113.{n}" if client_sends == "forwarded" else f"203.0.113.{n}"
            responses.append(
                await client.get(
                    "/api/v1/whoami", headers={proxy_writes: written, client_sends: spoof}
                )
            )
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert {r.json()["ip"] for r in responses[:3]} == {"198.51.100.7"}


def test_the_forwarded_header_setting_accepts_only_the_two_headers() -> None:
    assert edge_settings().forwarded_header == "X-Forwarded-For"
    with pytest.raises(ValidationError, match="forwarded_header"):
        edge_settings(forwarded_header="X-Real-IP")
