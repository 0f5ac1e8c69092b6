"""`bastion.testing`: the pytest plugin a host app tests itself with.

Installed with bastion, registered under the `pytest11` entry point `bastion`:
it is active in every pytest run of an environment holding bastion, and
inert until a test asks for one of its `bastion_*` fixtures (disable it with
`-p no:bastion`). A test that does gets the host's app running inside its
lifespan, on a database migrated once per session whose writes are rolled
back after each test, on SQLite and PostgreSQL; users and logged-in clients;
fast password hashing; and a clock to move for expiry.

```python
async def test_me(bastion_client_factory):
    client = await bastion_client_factory()
    assert (await client.get("/api/v1/auth/me")).status_code == 200
```

See docs/testing.md for every fixture and option.
"""

from bastion.testing._app import AppFactory, TestApp, UowFactory
from bastion.testing._clock import ManualClock
from bastion.testing._database import TestDatabase
from bastion.testing._plugin import (
    bastion_app,
    bastion_app_factory,
    bastion_backend,
    bastion_base_settings,
    bastion_client,
    bastion_client_factory,
    bastion_clock,
    bastion_database,
    bastion_metadata,
    bastion_migrations,
    bastion_postgres_url,
    bastion_redis_url,
    bastion_resources,
    bastion_settings,
    bastion_settings_overrides,
    bastion_test_app,
    bastion_test_databases,
    bastion_uow,
    bastion_user_factory,
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
)
from bastion.testing._settings import FAST_HASHING, ProductionHashingError, settings_with
from bastion.testing._users import ClientFactory, LoginMode, UserCredentials, UserFactory

__all__ = [
    "FAST_HASHING",
    "AppFactory",
    "ClientFactory",
    "LoginMode",
    "ManualClock",
    "ProductionHashingError",
    "TestApp",
    "TestDatabase",
    "UowFactory",
    "UserCredentials",
    "UserFactory",
    "settings_with",
]

# The hooks and fixtures pytest finds on this module, the plugin it loads.
_PLUGIN = (
    bastion_app,
    bastion_app_factory,
    bastion_backend,
    bastion_base_settings,
    bastion_client,
    bastion_client_factory,
    bastion_clock,
    bastion_database,
    bastion_metadata,
    bastion_migrations,
    bastion_postgres_url,
    bastion_redis_url,
    bastion_resources,
    bastion_settings,
    bastion_settings_overrides,
    bastion_test_app,
    bastion_test_databases,
    bastion_uow,
    bastion_user_factory,
    pytest_addoption,
    pytest_configure,
    pytest_generate_tests,
)
