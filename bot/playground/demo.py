"""`make demo`: the real bot against the local double, and the page on 127.0.0.1:8000.

The bot runs as its own process, `python -m bot`, exactly as `make run` starts it (its
settings check, signal handling, poller, migrations and job queue), only pointed at the
double by TELEGRAM_API_BASE_URL. A separate process keeps the page responsive while the
bot is busy and keeps the two from sharing anything but HTTP, as with Telegram. The
double lives in this process, in threads, so the page reads it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from bot.playground.double import BotApiDouble
from bot.playground.web import playground_app
from bot.playground.world import World

# @BotFather's shape, so the bot's settings check passes; it opens nothing but the double.
DEMO_TOKEN = "700000001:demo-playground-token-works-only-here"
DEMO_BOT = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "Pairstretch",
    "username": "pairstretch_demo_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Settings of the developer's shell that would point the demo's bot elsewhere.
_BOT_SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "DATABASE_URL",
    "TELEGRAM_API_BASE_URL",
    "WEBHOOK_URL",
    "WEBHOOK_LISTEN",
    "WEBHOOK_SECRET",
)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def bot_environment(double: BotApiDouble, folder: Path) -> dict[str, str]:
    """The bot's settings: the double, a fresh SQLite file, sessions at a fifth of the time."""
    env = {key: value for key, value in os.environ.items() if key not in _BOT_SETTINGS}
    env.update(
        TELEGRAM_BOT_TOKEN=DEMO_TOKEN,
        TELEGRAM_API_BASE_URL=double.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'demo.sqlite3'}",
        SESSION_TIME_SCALE=os.environ.get("SESSION_TIME_SCALE", "0.2"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")])),
    )
    return env


class _PageServer(uvicorn.Server):
    """uvicorn without its own signal handling, which would re-raise Ctrl-C once the page
    stops and cut the bot's shutdown short: the demo stops the page, then the bot."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _stop_page(server: uvicorn.Server, double: BotApiDouble) -> None:
    # The page's event streams end first, so uvicorn need not cut them off; a second
    # Ctrl-C stops waiting for open connections, as uvicorn's own handler does.
    double.stop_watchers()
    server.force_exit = server.should_exit
    server.should_exit = True


async def _watch_bot(
    bot: asyncio.subprocess.Process, server: uvicorn.Server, double: BotApiDouble
) -> None:
    """Stop the page when the bot stops, so the visitor is not left typing to no one."""
    status = await bot.wait()
    print(f"playground: the bot stopped (exit status {status})", file=sys.stderr)
    _stop_page(server, double)


async def _stop_bot(bot: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a deployment stops it; a kill only if it is still there after 15 s."""
    if bot.returncode is not None:
        return
    bot.terminate()
    try:
        async with asyncio.timeout(15):
            await bot.wait()
    except TimeoutError:
        bot.kill()
        await bot.wait()


async def run(double: BotApiDouble, sock: socket.socket, folder: Path) -> None:
    """The bot process and the page, until Ctrl-C or until the bot stops by itself."""
    config = uvicorn.Config(
        playground_app(double),
        log_level="warning",
        # The page's event stream stays open; don't wait for it on Ctrl-C.
        timeout_graceful_shutdown=1,
    )
    server = _PageServer(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop_page, server, double)
    # Run in the empty folder, so no .env of the checkout configures the demo's bot.
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=folder, env=bot_environment(double, folder)
    )
    watcher = asyncio.create_task(_watch_bot(bot, server, double))
    port = sock.getsockname()[1]
    print(f"playground: open http://127.0.0.1:{port} (Ctrl-C to stop)", flush=True)
    try:
        await server.serve(sockets=[sock])
    finally:
        watcher.cancel()
        # The bot first, while the double still answers its last calls; then the double,
        # whose closing ends the page's waits for changes at once.
        await _stop_bot(bot)
        double.close()


def main() -> int:
    port = int(os.environ.get("DEMO_PORT", "8000"))
    # Bound before the bot starts, so a taken port is one clear line and nothing to undo.
    sock = socket.socket()
    # As uvicorn does: a demo stopped a moment ago must not block the port for a minute.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as error:
        sock.close()
        print(
            f"playground: cannot listen on 127.0.0.1:{port} ({error.strerror}); "
            "set DEMO_PORT to another port",
            file=sys.stderr,
        )
        return 1
    folder = Path(tempfile.mkdtemp(prefix="pairstretch-demo-"))
    double = BotApiDouble(World(bot_user=DEMO_BOT), token=DEMO_TOKEN).start()
    try:
        asyncio.run(run(double, sock, folder))
    finally:
        double.close()
        sock.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0
