"""`AuthThrottle`: the budgets guarding secrets (passwords, MFA codes), exact and failing closed."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from bastion.core._process import process_name
from bastion.errors import RateLimitedError
from bastion.ratelimit import RateLimiter, RateLimitResult, parse_limit

if TYPE_CHECKING:
    from bastion.auth._runtime import AuthRuntime

__all__ = ["HASH_IN_FLIGHT", "AuthThrottle", "Budget", "Report"]

#: Where a budget's state goes for the response's `RateLimit-*` headers.
Report = Callable[[RateLimitResult], None]

#: What a 429 for a hash of the client's already under way reports: one at a time.
HASH_IN_FLIGHT = RateLimitResult(False, 1, 0, 1.0, 1, "hash-in-flight")


class Budget(NamedTuple):
    """One budget: a limit, the key parts it counts under, and its policy name.

    Attributes:
        limit: `limits` notation (`"5/minute"`).
        key: The key parts; identities in them are keyed hashes, never the text typed.
        name: The policy name the `RateLimit-Policy` header shows.
    """

    limit: str
    key: tuple[str, ...]
    name: str


def _ignore(result: RateLimitResult) -> None:
    """Report nowhere (a service used outside HTTP)."""


class AuthThrottle:
    """The auth feature's budgets, for one request.

    The failure budgets run on `RateLimiter.strict()`: the moving window,
    which counts exactly (N failures in ANY span of the window, across window
    boundaries too), and a storage outage answers 503 `SERVICE_UNAVAILABLE`
    with `Retry-After` whatever `BASTION_RATELIMIT_FAIL_OPEN` says, since a
    guard on secrets that fails open is no guard. The hashing budget, which
    guards capacity, not a secret, runs on the app's limiter itself.

    A step guarding a secret `check`s its budgets before the verdict (429 when
    one is spent) and, once the secret was checked, counts a wrong one with
    `fail` or forgives the budgets with `forgive`: an attempt that met a
    database or storage outage spends nothing. Both come before the answer (and
    before a one-time code is spent) and refuse it (429) when attempts in flight
    at once spent the budget meanwhile: a burst gets no more verdicts than the
    budget holds. Every result that is the request's last word on a budget is
    reported, so the response's `RateLimit-*` headers show the budget closest
    to exhaustion.

    Args:
        limiter: The app's limiter (its storage and key prefix are used).
        runtime: The limits and the key that hashes identities.
        report: Receives results for the response headers.
    """

    def __init__(
        self, limiter: RateLimiter, runtime: AuthRuntime, report: Report | None = None
    ) -> None:
        """Bind the budgets to the app's limiter storage."""
        self.limiter = limiter.strict()
        # Capacity budgets (hashes per client) guard no secret: the app's own limiter,
        # with its strategy and outage policy, counts them.
        self.capacity = limiter
        self.runtime = runtime
        self.report = report or _ignore

    def identity(self, value: str) -> str:
        """A keyed hash naming an account in keys: short, fixed-size, and not the e-mail."""
        digest = hmac.new(self.runtime.throttle_key, value.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    # -- the budgets ---------------------------------------------------------------
    def login(self, ip: str | None, email: str) -> tuple[Budget, ...]:
        """Failed logins per (client IP, account), and per account from any IP."""
        account = self.identity(email)
        return (
            Budget(self.runtime.login_limit, ("login", ip or "-", account), "login"),
            Budget(self.runtime.account_limit, ("login-account", account), "account"),
        )

    def password(self, user_id: uuid.UUID, email: str) -> tuple[Budget, ...]:
        """Wrong current passwords per user; they count in the account's login budget too."""
        return (
            Budget(self.runtime.login_limit, ("password", str(user_id)), "password"),
            Budget(self.runtime.account_limit, ("login-account", self.identity(email)), "account"),
        )

    def mfa(self, user_id: uuid.UUID, ip: str | None = None) -> tuple[Budget, ...]:
        """Wrong MFA codes per (client IP, user) at login (per user elsewhere), and per user."""
        where = ("mfa", ip or "-", str(user_id)) if ip is not None else ("mfa", str(user_id))
        return (
            Budget(self.runtime.login_limit, where, "mfa"),
            Budget(self.runtime.account_limit, ("mfa-account", str(user_id)), "mfa-account"),
        )

    def hashing(self, ip: str) -> Budget | None:
        """Password hashes per client IP; None while no limit is set or measurable.

        A set limit is one budget per client IP across every process sharing the
        limiter's storage. Unset, each process sizes it from its own measured
        hashing rate and counts it under its own name: what it guards is that
        process's capacity, and processes measuring differently never share a
        counter by chance.
        """
        limit = self.runtime.hash_limit
        if limit is not None:
            return Budget(limit, ("hash", ip), "hash")
        rate = self.runtime.hasher.rate
        if rate is None:
            return None
        # Half the measured capacity per client: one client at its full budget
        # leaves the other half to everyone else.
        return Budget(f"{max(10, int(rate * 30))}/minute", ("hash", ip, process_name()), "hash")

    # -- counting --------------------------------------------------------------------
    async def check(self, budgets: Sequence[Budget]) -> None:
        """Refuse the attempt (429) if a budget has nothing left; consumes nothing.

        Raises:
            RateLimitedError: A budget is spent; `Retry-After` says when it frees up.
            ServiceUnavailableError: The limiter's storage is down.
        """
        for budget in budgets:
            result = await self.limiter.test(budget.limit, *budget.key, name=budget.name)
            if not result.allowed:
                self._refuse(result)

    async def spend(self, budget: Budget | None) -> None:
        """Count one use of a capacity budget (`hashing`): success or failure alike.

        Raises:
            RateLimitedError: The budget is spent.
            ServiceUnavailableError: The storage is down and the app's limiter fails closed.
        """
        if budget is None:
            return
        result = await self.capacity.hit(budget.limit, *budget.key, name=budget.name)
        if not result.allowed:
            self._refuse(result)
        self.report(result)

    async def fail(self, budgets: Sequence[Budget]) -> None:
        """Count one failure in each budget, before the verdict is answered.

        Attempts in flight at once all passed `check`: one that finds a budget
        already spent by the others is refused, so no more attempts are answered
        with their verdict than the budget holds.

        Raises:
            RateLimitedError: A budget had no room left for this attempt.
            ServiceUnavailableError: The limiter's storage is down.
        """
        for budget in budgets:
            result = await self.limiter.hit(budget.limit, *budget.key, name=budget.name)
            if not result.allowed:
                self._refuse(result)
            self.report(result)

    async def forgive(self, budgets: Sequence[Budget]) -> None:
        """Forget the failures counted in each budget (the secret was right).

        Called before the right secret is answered, or spent (a one-time code):
        a budget that attempts in flight spent meanwhile refuses it (429), and
        then nothing is spent. A right secret takes no unit.

        Raises:
            RateLimitedError: A budget was spent meanwhile.
            ServiceUnavailableError: The limiter's storage is down.
        """
        await self.check(budgets)
        for budget in budgets:
            await self.limiter.reset(budget.limit, *budget.key)
            item = parse_limit(budget.limit)
            window = item.get_expiry()
            self.report(
                RateLimitResult(True, item.amount, item.amount, float(window), window, budget.name)
            )

    def _refuse(self, result: RateLimitResult) -> NoReturn:
        self.report(result)
        raise RateLimitedError(
            headers={"Retry-After": str(result.retry_after)},
            details={"retry_after": result.retry_after},
        )
