"""A gunicorn worker that serves a bastion app as `bastion serve` does.

gunicorn 'notes_app.main:app' --worker-class gunicorn_worker.BastionUvicornWorker ...
"""

from typing import ClassVar

from uvicorn_worker import UvicornWorker

from bastion.cli import proxy_options
from bastion.core import BastionSettings


class BastionUvicornWorker(UvicornWorker):
    # No `Server` header, no uvicorn access log (bastion writes one), the lifespan
    # required, and forwarding headers believed only from BASTION_TRUSTED_PROXIES.
    CONFIG_KWARGS: ClassVar[dict[str, object]] = {
        "loop": "auto",
        "http": "auto",
        "lifespan": "on",
        "server_header": False,
        "access_log": False,
        **proxy_options(BastionSettings()),
    }
