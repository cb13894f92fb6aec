"""Logging that never carries an ID number or a password."""
from __future__ import annotations

import logging
import re

# 18-character ID numbers (and 15-digit old ones) anywhere in a message.
_ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{5})(?:[0-9]{11}[0-9Xx]|[0-9]{8})(?![0-9])")
_PASSWORD = re.compile(r'("?password"?\s*[:=]\s*)("[^"]*"|\S+)', re.IGNORECASE)


def redact(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "********", text)
    return _PASSWORD.sub(lambda m: m.group(1) + '"***"', text)


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


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
