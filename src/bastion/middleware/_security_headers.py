"""Which security headers every response carries, with a looser CSP profile for the docs pages.

`RequestIdMiddleware`, the outermost edge layer, sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bastion.core import BastionSettings

__all__ = ["DOCS_CONTENT_SECURITY_POLICY", "SecurityHeadersConfig"]

#: The CSP of `/docs` and `/redoc`: FastAPI's Swagger UI and ReDoc pages load their
#: bundles from jsDelivr, run one inline bootstrap script and ReDoc's Google fonts.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True, slots=True)
class SecurityHeadersConfig:
    """Which security headers are sent.

    Attributes:
        content_security_policy: CSP of API responses (nothing may load, nobody may frame).
        docs_content_security_policy: CSP of the docs pages (`docs_paths`).
        docs_paths: Path prefixes served with the docs profile.
        frame_options: `X-Frame-Options`.
        referrer_policy: `Referrer-Policy`.
        cross_origin_opener_policy: `Cross-Origin-Opener-Policy`.
        cross_origin_resource_policy: `Cross-Origin-Resource-Policy`.
        permissions_policy: `Permissions-Policy` (powerful features denied).
        cache_control: `Cache-Control` when the handler set none.
        hsts: Send `Strict-Transport-Security` (only behind HTTPS).
        hsts_max_age: HSTS `max-age` in seconds.
    """

    content_security_policy: str = "default-src 'none'; frame-ancestors 'none'"
    docs_content_security_policy: str = DOCS_CONTENT_SECURITY_POLICY
    docs_paths: tuple[str, ...] = ("/docs", "/redoc")
    frame_options: str = "DENY"
    referrer_policy: str = "no-referrer"
    cross_origin_opener_policy: str = "same-origin"
    cross_origin_resource_policy: str = "same-origin"
    permissions_policy: str = (
        "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
        "magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(), "
        "screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"
    )
    cache_control: str = "no-store"
    hsts: bool = False
    hsts_max_age: int = 31536000

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> SecurityHeadersConfig:
        """The config the settings describe."""
        return cls(
            content_security_policy=settings.content_security_policy,
            hsts=settings.hsts_enabled,
            hsts_max_age=settings.hsts_max_age,
        )

    def headers(self, *, docs: bool = False) -> list[tuple[bytes, bytes]]:
        """The raw headers of one profile (API, or docs when `docs`)."""
        csp = self.docs_content_security_policy if docs else self.content_security_policy
        pairs = [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", self.frame_options),
            ("referrer-policy", self.referrer_policy),
            ("content-security-policy", csp),
            ("cross-origin-opener-policy", self.cross_origin_opener_policy),
            ("cross-origin-resource-policy", self.cross_origin_resource_policy),
            ("permissions-policy", self.permissions_policy),
            ("cache-control", self.cache_control),
        ]
        if self.hsts:
            pairs.append(
                ("strict-transport-security", f"max-age={self.hsts_max_age}; includeSubDomains")
            )
        return [(name.encode(), value.encode("latin-1")) for name, value in pairs if value]
