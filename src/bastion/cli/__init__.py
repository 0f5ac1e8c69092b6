"""The `bastion` command: one module per command group (`db`, `serve`, `users`, `worker`)."""

from bastion.cli._main import main
from bastion.cli._serve import ProxyOptions, proxy_options

__all__ = ["ProxyOptions", "main", "proxy_options"]
