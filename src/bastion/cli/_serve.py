"""`bastion serve APP`: uvicorn, configured from the app's own settings."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Literal, TypedDict

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bastion.cli._target import load_target
from bastion.core import BastionSettings
from bastion.ratelimit import TrustedProxies
from bastion.security import available_cpus

__all__ = [
    "HELP",
    "ProxyOptions",
    "ServeOptions",
    "UvicornOptions",
    "app_settings",
    "configure",
    "proxy_options",
    "run",
    "uvicorn_options",
]

HELP = "Serve an ASGI app under uvicorn, configured from the app's settings."

logger = logging.getLogger("bastion.serve")

#: Seconds a shutdown waits beyond the longest request timeout, for the last
#: responses to be written and the lifespan to close.
_SHUTDOWN_MARGIN = 5
#: The graceful-shutdown timeout when no request timeout bounds a request.
_UNBOUNDED_SHUTDOWN = 30


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What `bastion serve` was asked for on its command line.

    Attributes:
        app: The app as `module:attribute` (`notes_app.main:app`).
        factory: `app` names a callable returning the app.
        host: The address to bind.
        port: The port to bind.
        workers: Worker processes; None means the CPUs the process may use.
        keep_alive: Seconds an idle keep-alive connection stays open.
        graceful_timeout: Seconds a shutdown waits for in-flight requests; None
            means the longest request timeout in the settings plus 5.
    """

    app: str
    factory: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None
    keep_alive: int = 5
    graceful_timeout: int | None = None


class ProxyOptions(TypedDict):
    """uvicorn's forwarding-header options."""

    proxy_headers: bool
    forwarded_allow_ips: str | None


class UvicornOptions(ProxyOptions):
    """The keyword arguments `bastion serve` passes to `uvicorn.run`."""

    app: str
    factory: bool
    host: str
    port: int
    workers: int
    loop: Literal["uvloop", "asyncio"]
    http: Literal["httptools", "h11"]
    lifespan: Literal["on"]
    log_config: None
    access_log: bool
    server_header: bool
    timeout_keep_alive: int
    timeout_graceful_shutdown: int


def proxy_options(settings: BastionSettings) -> ProxyOptions:
    """The forwarding-header options of uvicorn, from bastion's trusted-proxy settings.

    uvicorn rewrites the client address and scheme from `X-Forwarded-For` and
    `X-Forwarded-Proto` of the peers it trusts, and by default trusts the
    loopback. That is on here only when `BASTION_TRUSTED_PROXIES` names the
    proxies and they write `X-Forwarded-For` (uvicorn reads no `Forwarded`: with
    proxies that write `Forwarded`, an `X-Forwarded-For` is the client's own,
    passed through). uvicorn then trusts exactly those networks.
    """
    proxies = TrustedProxies(settings.trusted_proxies, header=settings.forwarded_header)
    if not proxies or settings.forwarded_header != "X-Forwarded-For":
        return {"proxy_headers": False, "forwarded_allow_ips": None}
    # uvicorn parses networks strictly: `10.0.0.1/8` would be a name it never matches.
    networks = ",".join(str(network) for network in proxies.networks)
    return {"proxy_headers": True, "forwarded_allow_ips": networks}


def _graceful_timeout(settings: BastionSettings) -> int:
    """The longest request timeout configured, plus a margin (the in-flight requests' bound)."""
    timeouts = [settings.request_timeout, *settings.request_timeout_routes.values()]
    if 0 in timeouts:  # a path without a timeout: nothing bounds its requests
        return _UNBOUNDED_SHUTDOWN
    return math.ceil(max(timeouts)) + _SHUTDOWN_MARGIN


def uvicorn_options(
    options: ServeOptions,
    settings: BastionSettings,
    *,
    cpus: int,
    installed: Callable[[str], bool],
) -> UvicornOptions:
    """Build uvicorn's configuration (a pure function of its arguments).

    Args:
        options: The command line.
        settings: The app's settings (trusted proxies, request timeouts).
        cpus: The CPUs the process may use: the default worker count.
        installed: Whether a module can be imported (`uvloop`, `httptools`).

    Returns:
        Keyword arguments for `uvicorn.run`: no `Server` header, no uvicorn
        access log or logging config (bastion logs), the lifespan required,
        uvloop and httptools when installed.
    """
    return {
        "app": options.app,
        "factory": options.factory,
        "host": options.host,
        "port": options.port,
        "workers": options.workers if options.workers is not None else cpus,
        "loop": "uvloop" if installed("uvloop") else "asyncio",
        "http": "httptools" if installed("httptools") else "h11",
        # A lifespan that fails stops the server instead of serving without resources.
        "lifespan": "on",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": options.keep_alive,
        "timeout_graceful_shutdown": (
            options.graceful_timeout
            if options.graceful_timeout is not None
            else _graceful_timeout(settings)
        ),
        **proxy_options(settings),
    }


def app_settings(options: ServeOptions) -> BastionSettings:
    """Import the app (calling the factory) and return the settings it runs with.

    The app is built once in the supervising process: a bad setting fails
    there, once, instead of in every worker. An app that is not a bastion app
    gets `BastionSettings()` from the environment.

    Raises:
        HostError: The app cannot be imported (see `load_target`).
        ValueError: The settings are refused.
    """
    app = load_target(options.app, factory=options.factory)
    settings = getattr(getattr(app, "state", None), "settings", None)
    return settings if isinstance(settings, BastionSettings) else BastionSettings()


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add `bastion serve`'s arguments."""
    defaults = ServeOptions(app="")
    parser.add_argument("app", metavar="APP", help="The app as module:attribute.")
    parser.add_argument(
        "--factory", action="store_true", help="APP is a callable that returns the app."
    )
    parser.add_argument("--host", default=defaults.host, help="Address to bind (%(default)s).")
    parser.add_argument("--port", type=int, default=defaults.port, help="Port (%(default)s).")
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="Worker processes (default: the CPUs the process may use).",
    )
    parser.add_argument(
        "--keep-alive",
        type=_positive,
        default=defaults.keep_alive,
        help="Seconds an idle keep-alive connection stays open; keep it above the proxy's (%(default)s).",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=_positive,
        default=None,
        help="Seconds a shutdown waits for in-flight requests "
        "(default: the longest request timeout + 5, or 30).",
    )
    parser.add_argument(
        "--app-dir",
        default=".",
        help="Directory put first on the import path (%(default)s, as uvicorn does).",
    )
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    """Serve the app until SIGTERM or SIGINT; in-flight requests complete first.

    Returns:
        The process exit status: 0 after a clean shutdown, 1 when the app
        cannot be loaded or uvicorn is not installed.
    """
    try:
        import uvicorn
    except ImportError:
        print("bastion serve needs uvicorn: pip install 'bastion[server]'", file=sys.stderr)
        return 1
    options = ServeOptions(
        app=args.app,
        factory=args.factory,
        host=args.host,
        port=args.port,
        workers=args.workers,
        keep_alive=args.keep_alive,
        graceful_timeout=args.graceful_timeout,
    )
    sys.path.insert(0, os.path.abspath(args.app_dir))
    try:
        settings = app_settings(options)
    except (ImportError, AttributeError, ValueError) as exc:  # a HostError, the factory's, settings
        # Settings errors name the variable, never the value (`hide_input_in_errors`).
        kind = "settings" if isinstance(exc, ValidationError | SettingsError) else "app"
        print(f"bastion serve: cannot load the {kind} of {options.app}: {exc}", file=sys.stderr)
        return 1
    config = uvicorn_options(options, settings, cpus=available_cpus(), installed=_installed)
    logger.info(
        "serving %s on %s:%d: %d worker(s), %s loop, %s parser, proxy headers %s",
        config["app"],
        config["host"],
        config["port"],
        config["workers"],
        config["loop"],
        config["http"],
        config["forwarded_allow_ips"] if config["proxy_headers"] else "off",
    )
    # uvicorn re-raises the signal it stopped on once it has shut down, which kills a
    # single worker with SIGTERM's status. A shutdown that was asked for and completed
    # is a clean exit, as it is with several workers.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # The worker count, announced to the app as uvicorn's and gunicorn's own option reads
    # it: the app warns of what each worker keeps to itself (in-memory rate limits).
    os.environ["WEB_CONCURRENCY"] = str(config["workers"])
    uvicorn.run(**config)
    return 0


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
