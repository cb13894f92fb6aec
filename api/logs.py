"""Logging that never carries an ID number or a password, one JSON object a line.

Every line written while a request is served carries that request's `request_id`
(the caller's `X-Request-Id` when it sent a sane one), and once known its `tenant`
(county code), `user` (account, `u:12` / `op:1`) and `operation` (root field); the
request's own line (`zhengjiao.access`) adds `method`, `path`, `status`, `outcome`
and `duration_ms`. `ZHENGJIAO_LOG_FORMAT=text` writes the same as plain lines.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from tenants.observe import NO_OPERATION, current_request

# 18-character ID numbers (and 15-digit old ones) anywhere in a message.
_ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{5})(?:[0-9]{11}[0-9Xx]|[0-9]{9})(?![0-9])")
_PASSWORD = re.compile(r'("?password"?\s*[:=]\s*)("[^"]*"|\S+)', re.IGNORECASE)

# What a line of a request says about it (None: outside any request).
REQUEST_FIELDS = ("request_id", "tenant", "user", "operation")


def redact(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "********", text)
    return _PASSWORD.sub(lambda m: m.group(1) + '"***"', text)


def redact_value(key: str, value: Any) -> Any:
    """A field of a JSON line: a password field loses its value whatever it is,
    strings are redacted, lists and objects field by field."""
    if "password" in key.lower() and value is not None:
        return "***"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now, redacted, so handlers print the clean copy.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RequestFields(logging.Filter):
    """Stamps a line with the request being served (tenants/observe.py); on the handler,
    so uvicorn's and every library's lines get it too."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request()
        values = {
            "request_id": request.request_id if request else None,
            "tenant": request.tenant if request else None,
            "user": request.user if request else None,
            "operation": request.operation if request and request.operation != NO_OPERATION else None,
        }
        for name, value in values.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object a line; every field redacted, whoever put it there (an `extra`
    included), after the message and traceback were by RedactingFilter."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        data = {key: redact_value(key, value) for key, value in log_data.items()}
        return {key: value for key, value in data.items() if value is not None or key not in REQUEST_FIELDS}


class TextFormatter(logging.Formatter):
    """The plain lines of development: `… INFO zhengjiao.access [4f2a…] request`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request = getattr(record, "request_id", None) or "-"
        return super().format(record)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def incoming_request_id(value: str | None) -> str | None:
    """A caller's X-Request-Id, kept when it is a plain token of at most 64
    characters that is not shaped like an ID number (it is written in the audit trail)."""
    if value and _REQUEST_ID.fullmatch(value) and redact(value) == value:
        return value
    return None


def make_handler(log_format: str = "json", stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(RedactingJsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    handler.addFilter(RedactingFilter())
    handler.addFilter(RequestFields())
    return handler


def configure_logging(level: str = "INFO", log_format: str = "json") -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(log_format)]
    root.setLevel(level)
    logging.captureWarnings(True)  # Python's warnings as log lines too, not bare stderr text
    # casbin prints its model and every policy row at INFO each time a county's enforcer
    # is built: lines by the hundred that say nothing an operator needs.
    logging.getLogger("casbin").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
