# The todo service: accounts from bastion's auth router, and the todos each user owns.
# --8<-- [start:imports]
from functools import partial
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

import bastion

# --8<-- [end:imports]


# --8<-- [start:models]
class User(bastion.UserMixin, bastion.Base):
    __tablename__ = "users"


class AuthSession(bastion.RefreshSessionMixin, bastion.Base):
    __tablename__ = "auth_sessions"


class Todo(bastion.EntityMixin, bastion.Base):  # id, created_at, updated_at, version
    __tablename__ = "todos"
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str]
    done: Mapped[bool]


# --8<-- [end:models]


# --8<-- [start:schemas]
class TodoPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not ignored
    title: str | None = Field(None, min_length=1, max_length=200)  # unset fields stay as they are
    done: bool | None = None


class TodoIn(TodoPatch):
    title: str = Field(min_length=1, max_length=200)
    done: bool = False


class TodoOut(TodoIn):
    id: UUID
    created_at: AwareDatetime
    version: int  # bumped by every change; sent as the `ETag`


# --8<-- [end:schemas]


# --8<-- [start:repository]
class TodoRepository(bastion.BaseRepository[Todo, TodoOut]):
    model = Todo
    out = TodoOut  # lists are newest first: the default sort is "-created_at"


# --8<-- [end:repository]


# --8<-- [start:service]
Versions = frozenset[int] | None  # the versions an `If-Match` accepts; None: any


class TodoService:
    def __init__(self, uow: bastion.UnitOfWork, user: bastion.CurrentUser) -> None:
        # Scoped to the caller: every query below sees, and every insert writes, their id.
        self.todos = TodoRepository(uow.session, owner_id=user.id)

    async def create(self, data: TodoIn) -> TodoOut:
        return await self.todos.add(data)

    async def list(self, query: bastion.ListParams) -> bastion.KeysetPage[TodoOut]:
        return await self.todos.page(query.page, *query.filters)

    async def get(self, todo_id: UUID) -> TodoOut:
        return await self.todos.get(todo_id)

    async def update(self, todo_id: UUID, data: TodoPatch, version: Versions) -> TodoOut:
        return await self.todos.update(todo_id, data, expected_version=version)

    async def delete(self, todo_id: UUID, version: Versions) -> None:
        await self.todos.delete(todo_id, expected_version=version)


# --8<-- [end:service]
# --8<-- [start:router]
Todos = Annotated[TodoService, Depends(bastion.provide_service(TodoService, bastion.CurrentUser))]
listing = bastion.list_query(TodoOut, filters={"done": ["eq"]})  # `?done=true`, newest first
Query = Annotated[bastion.ListParams, Depends(listing)]
per_user = Depends(bastion.RateLimit("30/minute", per="user"))
router = APIRouter(prefix="/todos", tags=["todos"])


@router.post("", status_code=201, dependencies=[per_user])
async def create(data: TodoIn, todos: Todos) -> TodoOut:
    return await todos.create(data)


@router.get("")
async def search(todos: Todos, query: Query) -> bastion.KeysetPage[TodoOut]:
    return await todos.list(query)


@router.get("/{todo_id}")
async def read(todo_id: UUID, todos: Todos, match: bastion.IfMatch) -> TodoOut:
    return match.tag(await todos.get(todo_id))


@router.patch("/{todo_id}")
async def update(todo_id: UUID, data: TodoPatch, todos: Todos, match: bastion.IfMatch) -> TodoOut:
    return match.tag(await todos.update(todo_id, data, match.expected_version))


@router.delete("/{todo_id}", status_code=204, response_class=Response)
async def delete(todo_id: UUID, todos: Todos, match: bastion.IfMatch) -> None:
    await todos.delete(todo_id, match.expected_version)


# --8<-- [end:router]
# --8<-- [start:app]
auth = bastion.Auth(user=User, session=AuthSession)  # register, login, refresh, me; no MFA
build = partial(bastion.create_app, routers=[auth.router, router])  # build(settings) -> the app
# --8<-- [end:app]
