"""What a request body may be, checked before anything reads it.

- Size: a JSON body of at most `max_body_bytes` (GraphQL documents and variables are
  small), a multipart upload of at most `max_upload_bytes`; counted as the bytes arrive,
  so a lying or missing Content-Length cannot get more in. Too big: HTTP 413.
- Shape: UTF-8 JSON whose top level is an object, nested at most `MAX_JSON_DEPTH`
  deep. Anything else (`null`, `12`, invalid UTF-8, 1,000 nested arrays): HTTP 400.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from cross_web import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenants.messages import DEFAULT_LOCALE, error_json, negotiate, text
from tenants.problems import ErrorCode

MAX_JSON_DEPTH = 32

# The language of the request being decoded: strawberry hands `decode_json` only the body.
request_locale: ContextVar[str] = ContextVar("request_locale", default=DEFAULT_LOCALE)


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key == name), b"")


async def _refuse(send: Send, status: int, error: dict[str, Any]) -> None:
    body = json.dumps({"errors": [error]}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Caps request bodies at the ASGI layer, before any parser sees them."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int, locale: str = DEFAULT_LOCALE) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.locale = locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = _header(scope, b"content-type").startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared and (not declared.isdigit() or int(declared) > limit):
            return await _refuse(send, 413, self._too_large(scope, limit))
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
                await _refuse(send, 413, self._too_large(scope, limit))

    def _too_large(self, scope: Scope, limit: int) -> dict[str, Any]:
        locale = negotiate(_header(scope, b"accept-language").decode("latin-1"), self.locale)
        return error_json(ErrorCode.BODY_TOO_LARGE, locale, {"limit": limit})


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
            raise _bad_request("NOT_UTF8") from None
    try:
        value = json.loads(data)
    except RecursionError:
        raise _bad_request("TOO_DEEP") from None
    except json.JSONDecodeError:
        raise _bad_request("NOT_JSON") from None
    if not isinstance(value, dict):
        raise _bad_request("NOT_OBJECT")
    if _too_deep(value):
        raise _bad_request("TOO_DEEP")
    return value


def _bad_request(variant: str) -> HTTPException:
    return HTTPException(400, text(f"{ErrorCode.INVALID_REQUEST}.{variant}", request_locale.get(), {"limit": MAX_JSON_DEPTH}))
