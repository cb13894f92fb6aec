"""What a request body may be, checked before anything reads it.

- Size: a JSON body of at most `max_body_bytes` (GraphQL documents and variables are
  small), a multipart upload of at most `max_upload_bytes`; counted as the bytes arrive,
  so a lying or missing Content-Length cannot get more in. Too big: HTTP 413.
- Shape: UTF-8 JSON whose top level is an object, nested at most `MAX_JSON_DEPTH`
  deep. Anything else (`null`, `12`, invalid UTF-8, 1,000 nested arrays): HTTP 400.
"""
from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 32


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Caps request bodies at the ASGI layer, before any parser sees them."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = _header(scope, b"content-type").startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            return await _refuse(send, 413, "BODY_TOO_LARGE", f"the request body is larger than {limit:,} bytes")
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, "BODY_TOO_LARGE", f"the request body is larger than {limit:,} bytes")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def strict_json(data: str | bytes) -> dict[str, Any]:
    """A request body or multipart part as a JSON object, or HTTP 400 saying why."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(400, "the request body is not UTF-8 text") from None
    try:
        value = json.loads(data)
    except RecursionError:
        raise HTTPException(400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise HTTPException(400, "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HTTPException(400, "the request body must be a JSON object with a `query`")
    if _too_deep(value):
        raise HTTPException(400, f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    return value
