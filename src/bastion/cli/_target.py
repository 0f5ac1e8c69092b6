"""The app a command is named: `module:attribute`, imported as uvicorn imports it."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

__all__ = ["HostError", "load_app", "load_target"]


class HostError(ValueError):
    """The app cannot be loaded, or lacks what the command needs."""


def load_target(reference: str, *, factory: bool | None = None) -> object:
    """Import `module:attribute` (a dotted attribute path) and call it when it is a factory.

    The one way every command finds the app it was named.

    Args:
        reference: `module:attribute`, as uvicorn takes it.
        factory: True: the attribute is a factory to call (`--factory`); False:
            it is the app itself; None: call it unless it already is a FastAPI app.

    Raises:
        HostError: The reference is malformed, cannot be imported, or is a
            `--factory` that is not callable. What the factory raises propagates.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise HostError(f"the app must be 'module:attribute', not {reference!r}")
    try:
        target: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise HostError(f"cannot import {reference}: {exc}") from exc
    if factory is None:
        factory = not isinstance(target, FastAPI) and callable(target)
    if factory:
        if not callable(target):
            raise HostError(f"{reference} is not callable (drop --factory)")
        target = target()
    return target


def load_app(reference: str, *, factory: bool | None = None) -> FastAPI:
    """The FastAPI app `reference` names (see `load_target`).

    Raises:
        HostError: `load_target` failed, or what it gave is not a FastAPI app.
    """
    target = load_target(reference, factory=factory)
    if not isinstance(target, FastAPI):
        raise HostError(f"{reference} is not a FastAPI app nor a factory returning one")
    return target
