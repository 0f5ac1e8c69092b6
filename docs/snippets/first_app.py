"""A first bastion app: settings, one router, the error envelope, health and ready."""

from fastapi import APIRouter, FastAPI

from bastion import create_app
from bastion.core import BastionSettings
from bastion.errors import NotFoundError
from bastion.web import error_responses

router = APIRouter(tags=["greetings"])
GREETINGS = {"en": "Hello", "fr": "Bonjour"}


@router.get("/greetings/{lang}", responses=error_responses(404))
async def greeting(lang: str) -> dict[str, str]:
    if lang not in GREETINGS:
        raise NotFoundError(f"No greeting for {lang!r}.")
    return {"greeting": GREETINGS[lang]}


def build() -> FastAPI:
    return create_app(BastionSettings(app_name="greetings"), routers=[router])
