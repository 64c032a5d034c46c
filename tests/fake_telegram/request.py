"""PTB's request layer, answered by the fake world instead of the network."""

from __future__ import annotations

import json
from typing import Any

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.playground.world import FILES, ConnectionDropped, TimeoutRequested, World


class FakeBotApi(BaseRequest):
    """Answers every Bot API call like Telegram would, and records it in `world.calls`."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.contains_files:
            # Uploaded files travel as multipart parts: (file name, bytes, mime type).
            params[FILES] = dict(request_data.multipart_data)
        try:
            status, body = self.world.answer(api_method, params)
        except TimeoutRequested:
            raise TimedOut("the fake Bot API was told to time out") from None
        except ConnectionDropped:
            # What PTB raises when httpx sees the server close without an answer.
            raise NetworkError(
                "httpx.RemoteProtocolError: Server disconnected without sending a response."
            ) from None
        return status, json.dumps(body).encode()
