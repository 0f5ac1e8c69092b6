"""`HttpTracing`: the tracer requests are traced with, and the server span's attributes."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Tracer, TracerProvider
from starlette.types import Scope

from bastion._version import __version__
from bastion.ratelimit import TrustedProxies, client_ip

__all__ = ["HEADER_GETTER", "TRACER_NAME", "AsgiHeaderGetter", "HttpTracing", "request_attributes"]

#: The instrumentation scope bastion's spans are reported under.
TRACER_NAME = "bastion"

_Headers = Iterable[tuple[bytes, bytes]]


class AsgiHeaderGetter(Getter[_Headers]):
    """Reads propagation headers (`traceparent`, `tracestate`) from raw ASGI headers."""

    def get(self, carrier: _Headers, key: str) -> list[str] | None:
        """Every value of header `key` (latin-1, as HTTP header bytes are), or None."""
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for header, value in carrier if header == name]
        return values or None

    def keys(self, carrier: _Headers) -> list[str]:
        """Every header name in `carrier`."""
        return [header.decode("latin-1") for header, _ in carrier]


#: The getter `propagate.extract` reads a request's headers with.
HEADER_GETTER = AsgiHeaderGetter()


class HttpTracing:
    """Where the app's spans go: a given tracer provider, or the global one.

    Without an explicit provider, the global provider is looked up when the
    app's lifespan starts, so an SDK configured after the app was built (but
    before it is served) is used; while it is the OpenTelemetry API's own
    placeholder (no SDK configured), `tracer()` is None and nothing is traced.
    """

    def __init__(self, provider: TracerProvider | None = None) -> None:
        """Trace through `provider`, or the global provider when None."""
        self._tracer = None if provider is None else provider.get_tracer(TRACER_NAME, __version__)
        self._global: tuple[TracerProvider, Tracer] | None = None

    def tracer(self) -> Tracer | None:
        """The tracer to use now, or None when no SDK is configured."""
        if self._tracer is not None:
            return self._tracer
        provider = trace.get_tracer_provider()
        if isinstance(provider, ProxyTracerProvider | NoOpTracerProvider):
            return None
        cached = self._global
        if cached is None or cached[0] is not provider:
            cached = self._global = (provider, provider.get_tracer(TRACER_NAME, __version__))
        return cached[1]


def request_attributes(
    scope: Scope, method: str, trusted_proxies: TrustedProxies | None = None
) -> dict[str, str | int]:
    """The HTTP semantic-convention attributes of a request known before it is served.

    `client.address` is `client_ip`'s answer: behind `trusted_proxies`, the
    client their forwarding header names, not the proxy.
    """
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    if method == "_OTHER":
        attributes["http.request.method_original"] = scope["method"]
    client = client_ip(scope, trusted_proxies or ())
    if client is not None:
        attributes["client.address"] = client
    server = scope.get("server")
    if server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    for name, value in scope["headers"]:
        if name == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")
            break
    return attributes
