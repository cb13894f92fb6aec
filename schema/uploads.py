"""Files sent with a mutation (GraphQL multipart `Upload`): read whole, within a cap.

Subsidy lists, payment files and enrolment history all read their file here. The
request body was capped at the ASGI layer already (api/requests.py); this is the
file's own cap, reported as a userError naming the file.
"""
from __future__ import annotations

from strawberry.file_uploads import Upload

from tenants.problems import ErrorCode, Problem, Rejected

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


async def read_upload(file: Upload) -> tuple[str, bytes]:
    """The file's name and bytes, refused when larger than the upload limit."""
    name = getattr(file, "filename", None) or "upload"
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Rejected([Problem(ErrorCode.FILE_TOO_LARGE, ["file"], {"fileName": name, "limit": MAX_UPLOAD_BYTES // (1024 * 1024)})])
    return name, data
