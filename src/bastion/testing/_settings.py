"""The settings a test's app runs on: the host's, changed for tests and validated again."""

from __future__ import annotations

from collections.abc import Mapping

from bastion.core import BastionSettings

__all__ = ["FAST_HASHING", "ProductionHashingError", "settings_with", "with_fast_hashing"]

#: Argon2id at its cheapest: a test hashes in a millisecond instead of tens of them.
#: Never for production: such hashes fall to a guessing attack at once.
FAST_HASHING: Mapping[str, object] = {
    "password_hash_time_cost": 1,
    "password_hash_memory_cost": 8,
    "password_hash_parallelism": 1,
}


class ProductionHashingError(ValueError):
    """Fast test hashing was asked for settings whose environment is production."""


def settings_with(base: BastionSettings, changes: Mapping[str, object]) -> BastionSettings:
    """Return `base` with `changes`, validated as the settings class validates its input.

    Unlike `model_copy(update=...)`, a value of the wrong type or a change the
    production checks refuse raises here, and a name the class does not have
    is an error rather than silently ignored. The environment is not read again.

    Raises:
        ValueError: A name is not a setting of `base`'s class.
        pydantic.ValidationError: A value is refused.
    """
    cls = type(base)
    unknown = sorted(set(changes) - set(cls.model_fields))
    if unknown:
        raise ValueError(f"{cls.__name__} has no settings named {', '.join(unknown)}")
    return cls.model_validate({**base.model_dump(), **changes})


def with_fast_hashing(settings: BastionSettings) -> BastionSettings:
    """`settings` with the cheapest Argon2id parameters; refused in production.

    Raises:
        ProductionHashingError: `settings.environment` is production.
    """
    if settings.is_production:
        raise ProductionHashingError(
            "bastion.testing refuses fast password hashing for production settings: "
            "test with environment='test', or set `bastion_fast_hashing = false`"
        )
    return settings_with(settings, FAST_HASHING)
