"""Lingering close: an early answer, then what the sender still uploads read and dropped.

A 413 for a declared body over the limit is sent before the body is read. If the server
then closes the connection with the body unread, the kernel answers the sender's next
segments with a reset, and a sender still uploading loses the answer (seen: a client
sending 1 MiB + 10 bytes got ``BrokenPipeError`` instead of its 413). RFC 9112 §9.6:
close in stages, answer first, then keep reading and discarding until the sender has
seen the answer, bounded in time and size.

Under uvicorn a body can be received only while the response is not complete: once it is,
``receive`` answers ``http.disconnect`` and a ``Connection: close`` answer closes the
socket with whatever is unread. So the answer goes out whole (its ``Content-Length`` set)
but its last, empty body message is sent only after the drain.
"""

from __future__ import annotations

import anyio
from starlette.types import Message, Receive, Send

from airflow_webhook_trigger.core.response import HttpResponse

#: at most this many bytes of an unread body are read and dropped after an early answer:
#: enough for a sender a little over ``max_body_bytes`` (the common case) to finish and
#: read its answer, small next to what a declared-huge body would cost to read
LINGER_MAX_BYTES = 4 * 1024 * 1024
#: and for at most this long (a slow sender is then cut off: its cost stays bounded)
LINGER_MAX_SECONDS = 2.0


def expects_continue(headers: list[tuple[bytes, bytes]]) -> bool:
    """The sender waits for ``100 Continue`` before its body (none will come after an answer)."""
    return any(k.lower() == b"expect" and v.strip().lower() == b"100-continue" for k, v in headers)


class TrackedReceive:
    """``receive``, remembering whether the request body was read to its end (a drain
    after that would wait for a message that never comes)."""

    __slots__ = ("_receive", "ended")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.ended = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.ended = True
        return message


async def drain(
    receive: Receive, max_bytes: int = LINGER_MAX_BYTES, max_seconds: float = LINGER_MAX_SECONDS
) -> int:
    """Read and drop the rest of the request body, bounded; how many bytes were dropped."""
    dropped = 0
    with anyio.move_on_after(max_seconds):
        while dropped <= max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                break
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
    return dropped


async def answer_then_linger(
    result: HttpResponse, receive: Receive, send: Send, *, linger: bool = True
) -> None:
    """Send ``result`` with ``Connection: close``, then (``linger``) drain the body, then end.

    :param linger: false when the sender waits for ``100 Continue``: it sends no body
    """
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in result.headers]
    headers.append((b"content-length", str(len(result.body)).encode("ascii")))
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body, "more_body": True})
    if linger:
        await drain(receive)
    await send({"type": "http.response.body", "body": b"", "more_body": False})
