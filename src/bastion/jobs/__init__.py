"""Domain events, a transactional outbox, and background jobs on arq.

A service records events (`uow.record(event)`) and asks for jobs
(`uow.enqueue(job, arguments)`) on the request's unit of work; both become
outbox rows in the request's transaction, and handlers run after the commit,
at least once each, with retries and a dead letter. See docs/jobs.md.
"""

from bastion.jobs._config import JobsConfig
from bastion.jobs._context import JobContext
from bastion.jobs._event import Event
from bastion.jobs._maintenance import prune
from bastion.jobs._models import OutboxMixin, OutboxState
from bastion.jobs._registry import Handler, Jobs, Registered
from bastion.jobs._relay import Dispatch, OutboxRelay

__all__ = [
    "Dispatch",
    "Event",
    "Handler",
    "JobContext",
    "Jobs",
    "JobsConfig",
    "OutboxMixin",
    "OutboxRelay",
    "OutboxState",
    "Registered",
    "prune",
]
