"""`IdempotentRoute`: the route option that makes unsafe requests with an `Idempotency-Key` run once."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING

import anyio
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from bastion.db import UnitOfWork, utcnow
from bastion.errors import ServiceUnavailableError, UnauthenticatedError
from bastion.idempotency._errors import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from bastion.idempotency._key import MAX_KEY_LENGTH, fingerprint, read_key, scope_hash
from bastion.idempotency._locks import InFlightLocks, MemoryInFlightLocks, RedisInFlightLocks
from bastion.idempotency._store import IdempotencyStore, StoredResponse
from bastion.web import get_resources, share_uow

if TYPE_CHECKING:
    from bastion._resources import Resources

__all__ = ["REPLAYED_HEADER", "IdempotentRoute"]

#: The header a replayed response carries, set to `true`.
REPLAYED_HEADER = "Idempotent-Replayed"
#: The first response's headers a replay repeats; the rest (cookies, rate-limit
#: state, request ids) belong to the request that produced them.
KEPT_HEADERS = frozenset(
    {"content-type", "content-location", "etag", "last-modified", "link", "location"}
)
# An in-flight lock outlives the request holding it only when the request has no timeout.
_LOCK_TTL_WITHOUT_TIMEOUT = 300.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

Handler = Callable[[Request], Coroutine[None, None, Response]]


def _stored(response: Response, request_fingerprint: str, ttl: int) -> StoredResponse:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        raise TypeError("an idempotent route must answer with a body in memory, not a stream")
    return StoredResponse(
        status_code=response.status_code,
        headers=tuple(
            (name, value) for name, value in response.headers.items() if name in KEPT_HEADERS
        ),
        body=body,
        fingerprint=request_fingerprint,
        expires_at=utcnow() + timedelta(seconds=ttl),
    )


def _replay(stored: StoredResponse, request_fingerprint: str) -> Response:
    if not hmac.compare_digest(stored.fingerprint, request_fingerprint):
        raise IdempotencyKeyReusedError()
    response = Response(content=stored.body, status_code=stored.status_code)
    for name, value in stored.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


# The header in the OpenAPI document of each unsafe operation. Its pattern is what
# `read_key` accepts: a bare key (printable ASCII, inner spaces, not opening with a quote),
# or the draft's quoted form (each character, or a `\"` or `\\` escape, counts as one).
_MAX = MAX_KEY_LENGTH
_KEY_PATTERN = (
    rf'^(?:[!#-~](?:[ -~]{{0,{_MAX - 2}}}[!-~])?|"(?:[ !#-\[\]-~]|\\["\\]){{1,{_MAX}}}")$'
)
_KEY_PARAMETER: dict[str, object] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Run this request once: the same key with the same request answers the first "
        "response again (`Idempotent-Replayed: true`)."
    ),
    "schema": {"type": "string", "pattern": _KEY_PATTERN},
}


_REPLAYED: dict[str, object] = {
    "description": "`true` when this is the stored answer to an earlier request with the key.",
    "schema": {"type": "string", "enum": ["true"]},
}


class IdempotentRoute(APIRoute):
    """A route class under which unsafe requests with an `Idempotency-Key` run once.

    ```python
    router = APIRouter(prefix="/notes", route_class=IdempotentRoute)
    ```

    For each POST, PUT, PATCH or DELETE request carrying the header (GET and
    requests without it are served as by a plain route):

    - the first response to a key is stored (status, body, `Location`, `ETag`,
      `Content-Type`...) in the transaction of the endpoint's writes;
    - the same key and the same request (path, query, body) answer that
      response again, with `Idempotent-Replayed: true`, and write nothing;
    - the same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`; while
      the first is in flight, 409 `IDEMPOTENCY_KEY_IN_USE` with `Retry-After`;
    - a bad key is 400 `INVALID_IDEMPOTENCY_KEY`.

    Keys are scoped by principal, method and route template. The route opens
    the request's unit of work itself (`Uow` is that one), so the record and
    the writes commit together; an error response, a raising endpoint or a
    failed validation roll both back and leave the key unused. Endpoints must
    answer with a body in memory (not a `StreamingResponse`).
    """

    async def principal(self, request: Request) -> str:
        """Name the caller a key belongs to; override to name it otherwise.

        In this order: `request.state.user_id` (set by a dependency that ran
        before, or by a host middleware), an authenticated Starlette
        `scope["user"]`, the user bastion's auth feature authenticates from the
        request's credentials; else every caller without credentials shares
        the anonymous principal.
        """
        user_id = getattr(request.state, "user_id", None)
        if user_id is not None:
            return f"user:{user_id}"
        user = request.scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return f"user:{user.identity}"
        resources = await get_resources(request)
        if resources.user_resolver is not None:
            try:
                return f"user:{await resources.user_resolver(request)}"
            except UnauthenticatedError:
                # The endpoint's own authentication answers the 401, if it needs a user.
                pass
        return "anonymous"

    def get_route_handler(self) -> Handler:
        """The endpoint's handler, wrapped for keyed requests on unsafe methods."""
        handler = super().get_route_handler()
        if self.methods and self.methods <= _SAFE_METHODS:
            return handler
        template = self.path_format
        # Built with the route: its OpenAPI operation documents the header as well.
        extra = dict(self.openapi_extra or {})
        parameters = extra.get("parameters")
        if not (isinstance(parameters, list) and _KEY_PARAMETER in parameters):
            extra["parameters"] = [*(parameters or []), dict(_KEY_PARAMETER)]
            success = str(self.status_code or 200)
            extra["responses"] = {success: {"headers": {REPLAYED_HEADER: dict(_REPLAYED)}}}
            self.openapi_extra = extra

        async def idempotent_handler(request: Request) -> Response:
            key = read_key(request.headers)
            if key is None:
                return await handler(request)
            resources = await get_resources(request)
            principal = await self.principal(request)
            key_hash = scope_hash(principal, request.method, template, key)
            body = await request.body()
            request_fingerprint = fingerprint(request.url.path, request.scope["query_string"], body)
            locks = _locks(resources)
            token = await locks.acquire(key_hash, _lock_ttl(resources))
            if token is None:
                raise IdempotencyKeyInUseError()
            try:
                return await _serve(handler, request, resources, key_hash, request_fingerprint)
            finally:
                await _release(locks, key_hash, token)

        return idempotent_handler


def _locks(resources: Resources) -> InFlightLocks:
    """The app's in-flight locks, made on first use: in Redis when the app has one."""
    if resources.idempotency_locks is None:
        resources.idempotency_locks = (
            MemoryInFlightLocks()
            if resources.redis is None
            else RedisInFlightLocks(
                resources.redis, timeout=resources.settings.redis_socket_timeout
            )
        )
    return resources.idempotency_locks


def _lock_ttl(resources: Resources) -> float:
    timeout = resources.settings.request_timeout
    return timeout + 1.0 if timeout > 0 else _LOCK_TTL_WITHOUT_TIMEOUT


async def _release(locks: InFlightLocks, key_hash: str, token: str) -> None:
    # Shielded: a request cancelled by its timeout must still free its key.
    with anyio.CancelScope(shield=True):
        await locks.release(key_hash, token)


async def _serve(
    handler: Handler,
    request: Request,
    resources: Resources,
    key_hash: str,
    request_fingerprint: str,
) -> Response:
    """Replay the key's record, or run the endpoint and store its response with its writes."""
    if resources.sessionmaker is None:
        raise ServiceUnavailableError("The database is not configured.")
    async with UnitOfWork(resources.sessionmaker, jobs=resources.jobs) as uow:
        store = IdempotencyStore(uow.session)
        found = await store.find(key_hash)
        if found is not None:
            if found.expires_at > utcnow():
                return _replay(found, request_fingerprint)
            await store.forget(key_hash)
        share_uow(request, uow)
        response = await handler(request)
        stored = _stored(response, request_fingerprint, resources.settings.idempotency_ttl)
        if await store.save(key_hash, stored, now=utcnow()):
            return response
        # Another worker committed a record for this key first (no in-flight lock
        # spans the two): undo this request's writes and answer as a retry would.
        await uow.rollback()
        found = await store.find(key_hash)
        if found is None:
            raise IdempotencyKeyInUseError()
        return _replay(found, request_fingerprint)
