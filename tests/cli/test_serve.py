"""`bastion serve` builds uvicorn's configuration from the app's settings."""

from __future__ import annotations

import argparse

import pytest

from bastion.cli import main
from bastion.cli._serve import ServeOptions, app_settings, configure, proxy_options, uvicorn_options
from bastion.core import BastionSettings
from notes_app.config import NotesSettings
from tests.conftest import TEST_SECRET


def _settings(**values: object) -> BastionSettings:
    return BastionSettings(environment="test", secret_key=TEST_SECRET, **values)  # type: ignore[arg-type]


def _everything_installed(module: str) -> bool:
    return True


def test_serve_runs_a_worker_per_usable_cpu_with_no_server_header_and_bastion_logging() -> None:
    options = uvicorn_options(
        ServeOptions(app="notes_app.main:app"),
        _settings(),
        cpus=3,
        installed=_everything_installed,
    )
    assert options == {
        "app": "notes_app.main:app",
        "factory": False,
        "host": "127.0.0.1",
        "port": 8000,
        "workers": 3,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 35,
        "proxy_headers": False,
        "forwarded_allow_ips": None,
    }


def test_command_line_options_reach_uvicorn() -> None:
    options = ServeOptions(
        app="notes_app.main:create_notes_app",
        factory=True,
        host="0.0.0.0",  # noqa: S104 - what a container binds
        port=9000,
        workers=2,
        keep_alive=75,
        graceful_timeout=12,
    )
    built = uvicorn_options(options, _settings(), cpus=8, installed=_everything_installed)
    assert built["factory"] is True
    assert (built["host"], built["port"], built["workers"]) == ("0.0.0.0", 9000, 2)  # noqa: S104
    assert built["timeout_keep_alive"] == 75
    assert built["timeout_graceful_shutdown"] == 12


def test_the_pure_python_loop_and_parser_serve_when_uvloop_and_httptools_are_missing() -> None:
    built = uvicorn_options(
        ServeOptions(app="a:b"), _settings(), cpus=1, installed=lambda module: False
    )
    assert (built["loop"], built["http"]) == ("asyncio", "h11")


def test_proxy_headers_stay_off_without_trusted_proxies() -> None:
    # uvicorn believes X-Forwarded-For from the loopback unless told otherwise.
    assert proxy_options(_settings()) == {"proxy_headers": False, "forwarded_allow_ips": None}


def test_proxy_headers_trust_exactly_the_trusted_proxies_as_networks() -> None:
    settings = _settings(trusted_proxies=["10.0.0.1/8", "192.168.1.7", "::1"])
    # uvicorn parses networks strictly: host bits are dropped, bare addresses become networks.
    assert proxy_options(settings) == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.0/8,192.168.1.7/32,::1/128",
    }


def test_proxy_headers_stay_off_when_the_proxies_write_forwarded() -> None:
    # uvicorn reads X-Forwarded-For only: behind proxies that write `Forwarded`, an
    # X-Forwarded-For is whatever the client sent.
    settings = _settings(trusted_proxies=["10.0.0.0/8"], forwarded_header="Forwarded")
    assert proxy_options(settings)["proxy_headers"] is False


@pytest.mark.parametrize(
    ("timeouts", "expected"),
    [
        ({}, 35),
        ({"request_timeout": 10.5}, 16),
        ({"request_timeout": 10, "request_timeout_routes": {"/api/v1/uploads": 120}}, 125),
        ({"request_timeout": 0}, 30),
        ({"request_timeout_routes": {"/api/v1/stream": 0}}, 30),
    ],
)
def test_the_graceful_shutdown_outlasts_the_longest_request_timeout(
    timeouts: dict[str, object], expected: int
) -> None:
    built = uvicorn_options(
        ServeOptions(app="a:b"), _settings(**timeouts), cpus=1, installed=_everything_installed
    )
    assert built["timeout_graceful_shutdown"] == expected


def test_the_command_line_parses_into_the_serve_options() -> None:
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(
        ["notes_app.main:app", "--workers", "4", "--keep-alive", "65", "--port", "8080"]
    )
    assert (args.app, args.workers, args.keep_alive, args.port) == (
        "notes_app.main:app",
        4,
        65,
        8080,
    )
    assert args.graceful_timeout is None
    assert args.factory is False
    with pytest.raises(SystemExit):
        parser.parse_args(["notes_app.main:app", "--workers", "0"])


def test_the_settings_are_the_apps_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_CONFIGURE_LOGGING", "false")
    settings = app_settings(ServeOptions(app="notes_app.main:create_notes_app", factory=True))
    assert isinstance(settings, NotesSettings)


def test_an_app_that_cannot_be_imported_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "notes_app.nowhere:app"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("bastion serve: cannot load the app of notes_app.nowhere:app")
    assert "Traceback" not in error
    assert main(["serve", "notes_app.main"]) == 1
    assert "the app must be 'module:attribute'" in capsys.readouterr().err
    assert main(["serve", "tests.cli.host:create_app_missing_a_module", "--factory"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("bastion serve: cannot load the app of tests.cli.host:")
    assert "Traceback" not in error


def test_refused_production_settings_are_named_without_their_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASTION_ENVIRONMENT", "production")
    monkeypatch.setenv("BASTION_SECRET_KEY", "too-short-a-key-Zq8")
    assert main(["serve", "notes_app.main:create_notes_app", "--factory"]) == 1
    error = capsys.readouterr().err
    assert "cannot load the settings" in error
    assert "BASTION_SECRET_KEY" in error
    assert "Zq8" not in error
