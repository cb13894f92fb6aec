"""What one request is, as the metrics and the logs tell it: its id, operation,
county, caller and outcome.

A `RequestRecord` is made by the outermost middleware (api/app.py) and put in a
context variable, so any code of that request (a resolver, the login check, a log
call) can fill it in or read it without being handed it. It never holds a person's
data: the county's code and the caller's account id at most.
"""
from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field

# Labels of requests that did not get as far as naming an operation.
NO_OPERATION = "-"
INVALID_OPERATION = "(invalid)"
SEVERAL_OPERATIONS = "(several)"


@dataclass
class RequestRecord:
    request_id: str
    path: str = ""
    started: float = field(default_factory=time.perf_counter)
    operation_type: str = NO_OPERATION  # query | mutation
    operation: str = NO_OPERATION  # the root field, e.g. registerPerson
    outcome: str | None = None  # ok | refused | error | unexpected | timeout
    tenant: str | None = None  # the caller's county code
    user: str | None = None  # the caller's account, "u:12" or "op:1"
    user_error_codes: list[str] = field(default_factory=list)

    def seconds(self) -> float:
        return time.perf_counter() - self.started


_current: ContextVar[RequestRecord | None] = ContextVar("zhengjiao_request", default=None)


def current_request() -> RequestRecord | None:
    return _current.get()


def begin_request(record: RequestRecord) -> object:
    return _current.set(record)


def end_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def note_user_errors(codes: list[str]) -> None:
    record = _current.get()
    if record is not None:
        record.user_error_codes.extend(codes)


def note_caller(tenant_code: str | None, subject: str | None) -> None:
    record = _current.get()
    if record is not None:
        record.tenant, record.user = tenant_code, subject
