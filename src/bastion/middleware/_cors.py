"""CORS, default deny: preflights from unknown origins get a 403 envelope."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.errors import render_error
from bastion.middleware._scope_headers import first_headers

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["CORSConfig", "CORSMiddleware"]


@dataclass(frozen=True, slots=True)
class CORSConfig:
    """Who may call the API from a browser on another origin.

    Attributes:
        allow_origins: Exact origins (`https://app.example.com`), or `*` for any.
            Empty (the default) denies every cross-origin browser call.
        allow_methods: Methods a cross-origin request may use (`HEAD` too wherever
            `GET` is, as the edge serves it on every GET route).
        allow_headers: Request headers it may send (case-insensitive).
        expose_headers: Response headers its scripts may read.
        allow_credentials: Let it send cookies / HTTP auth (refused with `*`).
        max_age: Seconds a browser may cache a preflight answer.

    Raises:
        ValueError: `*` is combined with credentials.
    """

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[str, ...] = ("Authorization", "Content-Type", "X-Request-ID")
    expose_headers: tuple[str, ...] = ("X-Request-ID",)
    allow_credentials: bool = False
    max_age: int = 600
    _origins: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate and normalise the allow-lists."""
        if "*" in self.allow_origins and self.allow_credentials:
            raise ValueError(
                "CORS: allow_origins '*' cannot be combined with allow_credentials; "
                "list the trusted origins explicitly"
            )
        object.__setattr__(self, "_origins", frozenset(o.rstrip("/") for o in self.allow_origins))

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> CORSConfig:
        """The config the settings describe."""
        return cls(
            allow_origins=tuple(settings.cors_allow_origins),
            allow_methods=tuple(m.upper() for m in settings.cors_allow_methods),
            allow_headers=tuple(settings.cors_allow_headers),
            expose_headers=tuple(settings.cors_expose_headers),
            allow_credentials=settings.cors_allow_credentials,
            max_age=settings.cors_max_age,
        )

    @property
    def any_origin(self) -> bool:
        """Whether every origin is allowed."""
        return "*" in self._origins

    def allows_origin(self, origin: str) -> bool:
        """Whether `origin` may call the API."""
        return self.any_origin or origin in self._origins


class CORSMiddleware:
    """Answer preflights and mark allowed cross-origin responses.

    - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
      from an allowed origin asking for allowed methods and headers gets 204
      with the `Access-Control-Allow-*` headers; any other preflight gets 403
      `CORS_REJECTED` in the envelope, without `Access-Control-Allow-Origin`.
    - Other requests are served; an allowed origin is echoed (with
      `Vary: Origin`), an unknown one is not, so the browser withholds the body.
    """

    def __init__(self, app: ASGIApp, *, config: CORSConfig | None = None) -> None:
        """Wrap `app` and pre-render the fixed headers."""
        self.app = app
        self.config = config = config or CORSConfig()
        # HEAD goes wherever GET goes: the edge serves it on every GET route.
        methods = list(config.allow_methods)
        if "GET" in methods and "HEAD" not in methods:
            methods.insert(methods.index("GET") + 1, "HEAD")
        self._methods = frozenset(methods)
        self._headers = frozenset(h.lower() for h in config.allow_headers)
        self._preflight = [
            (b"access-control-allow-methods", ", ".join(methods).encode()),
            (b"access-control-max-age", str(config.max_age).encode()),
        ]
        if config.allow_headers:
            value = ", ".join(config.allow_headers).encode()
            self._preflight.append((b"access-control-allow-headers", value))
        self._simple: list[tuple[bytes, bytes]] = []
        if config.expose_headers:
            value = ", ".join(config.expose_headers).encode()
            self._simple.append((b"access-control-expose-headers", value))
        if config.allow_credentials:
            self._preflight.append((b"access-control-allow-credentials", b"true"))
            self._simple.append((b"access-control-allow-credentials", b"true"))

    def _origin_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if self.config.any_origin:
            return [(b"access-control-allow-origin", b"*")]
        return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = first_headers(scope)
        origin = headers.get(b"origin")
        if origin is None:  # same-origin (or not a browser): nothing to do
            await self.app(scope, receive, send)
            return
        request_method = headers.get(b"access-control-request-method")
        if scope["method"] == "OPTIONS" and request_method is not None:
            asked = headers.get(b"access-control-request-headers")
            await self._preflight_response(origin, request_method, asked)(scope, receive, send)
            return
        if self.config.allows_origin(origin.decode("latin-1")):
            extra = [*self._origin_headers(origin), *self._simple]
        else:
            extra = [(b"vary", b"Origin")]  # the browser withholds the body

        def send_with_cors(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            return send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight_response(self, origin: bytes, method: bytes, headers: bytes | None) -> ASGIApp:
        problems: list[str] = []
        if not self.config.allows_origin(origin.decode("latin-1")):
            problems.append("origin")
        if method.decode("latin-1").upper() not in self._methods:
            problems.append("method")
        asked = {h.strip().lower() for h in (headers or b"").decode("latin-1").split(",")}
        if not asked - {""} <= self._headers:
            problems.append("headers")
        if problems:
            return render_error(
                "CORS_REJECTED",
                "This cross-origin request is not allowed.",
                status_code=403,
                details={"rejected": problems},
                headers={"Vary": "Origin"},
            )
        response = Response(status_code=204)
        response.raw_headers.extend([*self._origin_headers(origin), *self._preflight])
        return response
