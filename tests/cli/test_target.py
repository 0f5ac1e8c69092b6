"""How every command imports the app it is named: `module:attribute`, as uvicorn does."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from bastion.cli._target import HostError, load_app, load_target


def test_a_factory_is_called_when_asked_and_when_it_is_not_an_app_itself() -> None:
    assert isinstance(load_app("tests.cli.host:create_host_app", factory=True), FastAPI)
    assert isinstance(load_app("tests.cli.host:create_host_app"), FastAPI)


def test_without_factory_a_callable_is_taken_as_it_is() -> None:
    assert load_target("tests.cli.host:create_host_app", factory=False) is not None
    with pytest.raises(HostError, match="is not a FastAPI app"):
        load_app("tests.cli.host:create_host_app", factory=False)


def test_a_factory_flag_on_something_not_callable_says_so() -> None:
    with pytest.raises(HostError, match="is not callable \\(drop --factory\\)"):
        load_target("tests.conftest:TEST_SECRET", factory=True)


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("tests.cli.host", "the app must be 'module:attribute'"),
        (":app", "the app must be 'module:attribute'"),
        ("tests.cli.no_such_module:app", "cannot import tests.cli.no_such_module:app"),
        ("tests.cli.host:nothing.here", "cannot import tests.cli.host:nothing.here"),
    ],
)
def test_a_bad_reference_is_a_host_error(reference: str, said: str) -> None:
    with pytest.raises(HostError, match=said):
        load_target(reference)
