"""Logging: JSON in production, text in development, installed once, request ids everywhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bastion import create_app
from bastion.core import BastionSettings, request_id_var
from bastion.observability import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture
def clean_root() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = False


def _bastion_handlers(root: logging.Logger) -> list[logging.Handler]:
    return [h for h in root.handlers if h.get_name() == "bastion"]


def test_production_app_logs_json_lines(clean_root: logging.Logger) -> None:
    settings = BastionSettings(environment="production", secret_key="p" * 40)
    create_app(settings)
    handlers = _bastion_handlers(clean_root)
    assert len(handlers) == 1
    assert isinstance(handlers[0].formatter, JsonFormatter)
    assert logging.getLogger("uvicorn.access").disabled


def test_development_app_logs_text_and_configuring_twice_adds_no_handler(
    clean_root: logging.Logger,
) -> None:
    create_app(BastionSettings(environment="development", log_level="debug"))
    create_app(BastionSettings(environment="development"))
    handlers = _bastion_handlers(clean_root)
    assert len(handlers) == 1
    assert isinstance(handlers[0].formatter, TextFormatter)


def test_opting_out_leaves_the_hosts_logging_alone(clean_root: logging.Logger) -> None:
    before = list(clean_root.handlers)
    create_app(
        BastionSettings(environment="production", secret_key="p" * 40, configure_logging=False)
    )
    assert clean_root.handlers == before


def test_json_formatter_includes_extras_and_exceptions() -> None:
    token = request_id_var.set("rid-9")
    try:
        logger = logging.getLogger("tests.json")
        try:
            raise ValueError("boom")
        except ValueError:
            record = logger.makeRecord(
                "tests.json",
                logging.ERROR,
                __file__,
                1,
                "failed %s",
                ("x",),
                None,
                extra={"order_id": 17},
            )
            import sys

            record.exc_info = sys.exc_info()
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed x"
    assert line["order_id"] == 17
    assert line["request_id"] == "rid-9"
    assert "ValueError: boom" in line["exception"]


def test_json_lines_carry_no_terminal_colours_from_uvicorns_records(
    clean_root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    # uvicorn puts a coloured copy of its message on its records (`extra=`).
    create_app(BastionSettings(environment="production", secret_key="p" * 40))
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]",
        42,
        extra={"color_message": "Started server process [\x1b[36m%d\x1b[0m]"},
    )
    (output,) = [line for line in capsys.readouterr().err.splitlines() if "Started" in line]
    line = json.loads(output)
    assert line["message"] == "Started server process [42]"
    assert "color_message" not in line
    assert "\x1b" not in output
    assert "\\u001b" not in output


def test_text_formatter_shows_the_request_id() -> None:
    configure_logging(level="INFO", json=False)
    record = logging.getLogger("t").makeRecord("t", logging.INFO, __file__, 1, "hi", (), None)
    record.request_id = "abc"
    assert "[abc] t: hi" in TextFormatter().format(record)
