import pytest

from notes_app.config import NotesSettings


@pytest.fixture
def bastion_base_settings() -> NotesSettings:
    # The app's own settings class; the plugin adds the test database and fast hashing.
    return NotesSettings(environment="test", configure_logging=False)
