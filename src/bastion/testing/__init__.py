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

# The plugin pytest loads with this package (the `pytest11` entry point, or a
# conftest's `pytest_plugins`): its hooks and `bastion_*` fixtures, imported
# only then, so `import bastion.testing` for its helpers stays cheap.
pytest_plugins = ["bastion.testing._plugin"]
