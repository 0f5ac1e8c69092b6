"""Let driver threads finish before a short-lived event loop closes.

aiosqlite runs each connection on a thread of its own. When the connection
fails to open, that thread still hands one last result back to the event loop;
a command that then leaves `asyncio.run` at once closes the loop first, and the
thread dies with a traceback on stderr after the command's own clear line. A
server's loop lives on, so only short-lived commands (migrations, `bastion
users`) need this.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["driver_threads_finished"]

#: How long a failed command waits, at most, for the threads it started.
_WAIT = 2.0
_STEP = 0.01


@asynccontextmanager
async def driver_threads_finished() -> AsyncIterator[None]:
    """On an error in the block, wait (bounded) until the threads it started have ended."""
    before = threading.active_count()
    try:
        yield
    except Exception:
        for _ in range(int(_WAIT / _STEP)):
            if threading.active_count() <= before:
                break
            await asyncio.sleep(_STEP)
        raise
