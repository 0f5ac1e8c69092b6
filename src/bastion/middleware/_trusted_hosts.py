"""Optional `Host` allow-list: requests for unknown hosts get a 400 envelope."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.errors import render_error

__all__ = ["TrustedHostConfig", "TrustedHostMiddleware"]


@dataclass(frozen=True, slots=True)
class TrustedHostConfig:
    """The hosts the app answers for.

    Attributes:
        allowed_hosts: Exact names (`api.example.com`) or `*.example.com`
            wildcards (any subdomain, not the apex). `*` allows every host.
    """

    allowed_hosts: tuple[str, ...] = ("*",)


class TrustedHostMiddleware:
    """Refuse requests whose `Host` header is not allowed (400 `INVALID_HOST`).

    Guards against host-header injection into absolute URLs the app builds
    (password-reset links, redirects) when no proxy pins the host.
    """

    def __init__(self, app: ASGIApp, *, config: TrustedHostConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config or TrustedHostConfig()
        hosts = [h.lower() for h in self.config.allowed_hosts]
        self._any = "*" in hosts
        self._exact = frozenset(h for h in hosts if not h.startswith("*."))
        self._suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] not in ("http", "websocket") or self._any:
            await self.app(scope, receive, send)
            return
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        # Two `Host` headers are a 400 (RFC 9112): the app would read the first.
        host = hosts[0].decode("latin-1").lower() if len(hosts) == 1 else ""
        host = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
        if host in self._exact or (bool(self._suffixes) and host.endswith(self._suffixes)):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            refusal = render_error(
                "INVALID_HOST", "The Host header is not allowed.", status_code=400
            )
            await refusal(scope, receive, send)
