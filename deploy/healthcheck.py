"""The image's health check: GET /healthz where WEBHOOK_LISTEN says the bot listens.

Exits 0 on a 200 and 1 otherwise: a 503 (the database or the application is down), no
answer, or no listener at all, as in long polling, which serves no /healthz.
"""

import os
import sys
import urllib.error
import urllib.request

from bot.config import Settings, listen_address

# A listener on every address is reached through loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def main() -> int:
    listen = os.environ.get("WEBHOOK_LISTEN") or Settings.model_fields["webhook_listen"].default
    host, port = listen_address(listen)
    host = _LOOPBACK.get(host, host)
    netloc = f"[{host}]" if ":" in host else host
    try:
        with urllib.request.urlopen(f"http://{netloc}:{port}/healthz", timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError) as error:
        print(f"/healthz on {netloc}:{port}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
