"""The container's health check: GET a path of the local server; exit 0 on a 2xx, else 1.

`python healthcheck.py /health` (liveness) or `/ready` (readiness). Standard library only,
so the image needs no curl. `PORT` is the server's port (8000); `HEALTHCHECK_HOST` the `Host`
header sent (`localhost`): with `BASTION_TRUSTED_HOSTS` set, name one of those hosts.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    """Probe the path in `argv` (default `/health`) and return the exit status."""
    path = argv[0] if argv else "/health"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    request = urllib.request.Request(
        url, headers={"Host": os.environ.get("HEALTHCHECK_HOST", "localhost")}
    )
    # No proxy: an HTTP(S)_PROXY in the container's environment must not carry the probe away.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=float(os.environ.get("HEALTHCHECK_TIMEOUT", "4"))):
            return 0  # urllib raises HTTPError for anything but 2xx (redirects are not followed)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"healthcheck {path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
