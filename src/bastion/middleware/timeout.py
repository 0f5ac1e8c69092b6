"""Request timeout: a request over its time budget gets 504 `REQUEST_TIMEOUT`."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.core.deadline import request_deadline_var
from bastion.middleware.paths import PathTable
from bastion.middleware.request_id import route_template
from bastion.middleware.response_state import tracked_send
from bastion.web.responses import render_error

if TYPE_CHECKING:
    from bastion.core.settings import BastionSettings

__all__ = ["TimeoutConfig", "TimeoutMiddleware"]

logger = logging.getLogger("bastion.timeout")


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """How long a request may take.

    Attributes:
        seconds: The budget of every path without an override (0 or less: none).
        routes: `{path_prefix: seconds}` overrides, longest prefix wins
            (`{"/api/v1/exports": 120, "/api/v1/events": 0}`).
    """

    seconds: float = 30.0
    routes: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: BastionSettings) -> TimeoutConfig:
        """The config the settings describe."""
        return cls(seconds=settings.request_timeout, routes=dict(settings.request_timeout_routes))


class TimeoutMiddleware:
    """Cancel a request that runs past its budget and answer 504 `REQUEST_TIMEOUT`.

    The inner app is cancelled at its next `await`. Work in a worker thread (a
    sync endpoint or dependency, `run_in_threadpool`) cannot be cancelled: it
    runs to its end and its result is discarded. A database transaction that
    is cancelled is rolled back by its session's cleanup. If the response had
    already started, nothing more can be sent: the connection is closed.

    The budget is the request's `RequestDeadline` (`request_deadline_var`): a
    unit of work lifts it when its commit starts, so a COMMIT is never cut
    short and the response that follows it is the real one.
    """

    def __init__(self, app: ASGIApp, *, config: TimeoutConfig | None = None) -> None:
        """Wrap `app`."""
        self.app = app
        self.config = config or TimeoutConfig()
        self._budgets = PathTable(self.config.seconds, self.config.routes)
        self.watchdog = _Watchdog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self.budget(scope["path"])
        if seconds <= 0:
            await self.app(scope, receive, send)
            return
        response, app_send = tracked_send(scope, send)
        mark = len(response.header_hooks)
        timed_out = await self.within(seconds, scope, self.app(scope, receive, app_send))
        if timed_out and not response.started:
            response.bypass_inner(mark)
            await self.timeout_response(seconds)(scope, receive, send)

    def budget(self, path: str) -> float:
        """The seconds a request to `path` may take (0 or less: no limit)."""
        return self._budgets(path)

    async def within(self, seconds: float, scope: Scope, call: Awaitable[None]) -> bool:
        """Await `call`, cancelling it after `seconds`; True when it was cut short.

        Only our own cancellation is absorbed; one the server (or anyone else)
        requested propagates.
        """
        watch = self.watch(seconds)
        deadline = request_deadline_var.set(watch)
        try:
            await call
        except asyncio.CancelledError:
            if not watch.cut_short():
                raise
            self.report(scope, seconds)
            return True
        else:
            watch.completed()
            return False
        finally:
            watch.task = None
            request_deadline_var.reset(deadline)

    def watch(self, seconds: float) -> Watch:
        """Start watching the current request, which must finish within `seconds`.

        The caller puts the watch in `request_deadline_var` and awaits the
        request, and then: in `except CancelledError`, absorbs the
        cancellation only if `watch.cut_short()`; when it completes, calls
        `watch.completed()`; in `finally`, sets `watch.task` to None and
        resets the variable.
        """
        # One shared timer for every request (see `_Watchdog`) costs less than
        # a timer handle or `asyncio.timeout()` each; `uncancel` tells our
        # cancellation apart from one the server (or anyone) requested.
        task = asyncio.current_task()
        assert task is not None  # noqa: S101  # ASGI apps always run in a task
        return self.watchdog.watch(task, seconds)

    @staticmethod
    def report(scope: Scope, seconds: float) -> None:
        """Log a request cut short after `seconds`."""
        route = route_template(scope)
        logger.warning("request exceeded its %.3gs budget: %s %s", seconds, scope["method"], route)

    @staticmethod
    def timeout_response(seconds: float) -> ASGIApp:
        """The 504 `REQUEST_TIMEOUT` answer for a budget of `seconds`."""
        return render_error(
            "REQUEST_TIMEOUT",
            "The request took too long to complete.",
            status_code=504,
            details={"timeout_seconds": seconds},
        )


_new_watch = object.__new__


class Watch:
    """One request under watch: its task (None once finished or lifted) and deadline.

    A `RequestDeadline`: `lift` stops the watch for the rest of the request.
    """

    __slots__ = ("deadline", "expired", "task")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        """Watch `task` until `deadline`."""
        self.task: asyncio.Task[object] | None = task
        self.deadline = deadline
        self.expired = False

    def lift(self) -> bool:
        """Stop watching the request: it runs to its end; False if the deadline already passed."""
        if self.expired:
            return False
        # The watchdog skips a watch without a task, and a cancellation that
        # arrives later is no longer taken for ours: it propagates.
        self.task = None
        return True

    def cut_short(self) -> bool:
        """Whether the `CancelledError` being handled is ours alone (then it is absorbed)."""
        return self.expired and self.task is not None and self.task.uncancel() == 0

    def completed(self) -> None:
        """The request finished anyway: forget a cancellation of ours it swallowed."""
        if self.expired and self.task is not None:
            self.task.uncancel()


class _Watchdog:
    """Cancel the requests past their deadline, with one timer for all of them.

    Requests with the same budget end their budgets in the order they
    started, so each budget keeps a FIFO queue; the one timer is set for the
    earliest deadline at the head of a queue. Finished requests are dropped
    from the heads as new ones arrive or the timer fires, so a request costs
    an append and a flag instead of a timer handle to create, cancel and
    later sift out of the event loop's heap.
    """

    __slots__ = ("_clock", "_loop", "_queues", "_resolution", "_timer", "_when")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[float, deque[Watch]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._when = math.inf
        self._clock: Callable[[], float] = time.monotonic
        # The event loop runs a timer up to this much early (asyncio's own rule).
        self._resolution = time.get_clock_info("monotonic").resolution

    def watch(self, task: asyncio.Task[object], seconds: float) -> Watch:
        """Start watching `task`, which must finish within `seconds`."""
        loop = task.get_loop()
        if loop is not self._loop:  # a middleware reused on another event loop
            self._loop, self._queues, self._timer, self._when = loop, {}, None, math.inf
            # asyncio's own loops read `time.monotonic`; others keep their clock.
            default = type(loop).time is asyncio.BaseEventLoop.time
            self._clock = time.monotonic if default else loop.time
        watch = _new_watch(Watch)  # no `__init__` call: this runs on every request
        watch.task, watch.deadline, watch.expired = task, self._clock() + seconds, False
        queue = self._queues.get(seconds)
        if queue is None:
            queue = self._queues[seconds] = deque()
        while queue and queue[0].task is None:
            queue.popleft()
        queue.append(watch)
        if watch.deadline < self._when:
            self._schedule(loop, watch.deadline)
        return watch

    def _schedule(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._when = when
        self._timer = loop.call_at(when, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:  # a timer left on an event loop no longer served
            return
        self._timer, self._when = None, math.inf
        now = loop.time() + self._resolution
        earliest = math.inf
        for queue in self._queues.values():
            while queue:
                head = queue[0]
                if head.task is not None and head.deadline > now:
                    earliest = min(earliest, head.deadline)
                    break
                queue.popleft()
                if head.task is not None:
                    head.expired = True
                    head.task.cancel()
        if earliest < math.inf:
            self._schedule(loop, earliest)
