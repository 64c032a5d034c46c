"""Webhook mode, the real process: how fast a post is acknowledged, and how many a second.

`python -m tests.bench.bench_webhook [--updates 1000] [--posters 8]`

`/start` updates from distinct people are posted straight to the bot's listener with the
secret, by `--posters` threads at once, as Telegram's parallel connections would. Each
post's time to its 200 is measured; then the time until every person got the greeting
(which Telegram's pace of 30 messages a second bounds, not the webhook). Nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.playground.double import BotApiDouble, get, post_json
from tests.conftest import TEST_TOKEN
from tests.e2e.process import bot_process
from tests.e2e.test_webhook import HOOK, SECRET, free_port

FIRST_USER = 500_000


def start_update(update_id: int, user_id: int) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--posters", type=int, default=8)
    args = parser.parse_args(argv)
    users = [FIRST_USER + n for n in range(args.updates)]
    with tempfile.TemporaryDirectory() as folder, BotApiDouble(token=TEST_TOKEN) as double:
        for user in users:
            double.world.add_private_chat({"id": user, "first_name": f"U{user}"})
            double.world.opened.add(user)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "WEBHOOK_URL": HOOK,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        }
        with bot_process(double, Path(folder), LOG_LEVEL="WARNING", **env) as stop:
            double.wait_for_webhook(timeout=30)
            address = base + "/telegram/hook"

            def post(n: int) -> tuple[int, float]:
                started = time.perf_counter()
                status = post_json(address, start_update(n + 1, users[n]), SECRET)
                return status, time.perf_counter() - started

            began = time.perf_counter()
            with ThreadPoolExecutor(args.posters) as pool:
                answers = list(pool.map(post, range(args.updates)))
            acked = time.perf_counter() - began
            for user in users:
                double.wait_for_message(user, timeout=120)
            replied = time.perf_counter() - began
            _, metrics = get(base + "/metrics")
            stopped = stop(limit=15)
    statuses = {status for status, _ in answers}
    latencies = [seconds * 1000 for _, seconds in answers]
    print(f"updates posted: {args.updates} by {args.posters} posters; statuses {statuses}")
    print(
        f"ack (post to 200) p50 / p99 / max: {statistics.median(latencies):.2f} / "
        f"{percentile(latencies, 0.99):.2f} / {max(latencies):.2f} ms"
    )
    print(f"acks per second: {args.updates / acked:.0f}")
    print(f"every greeting out after {replied:.1f} s ({args.updates / replied:.1f} replies/s)")
    counted = "pairstretch_updates_handled_total"
    handled = [line for line in metrics.splitlines() if line.startswith(counted)]
    print("\n".join(handled))
    print(f"SIGTERM to exit: {stopped.shutdown_seconds:.2f} s, status {stopped.status}")
    return 0 if statuses == {200} and stopped.status == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
