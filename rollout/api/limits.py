"""The request-body limit of the JSON API (PRODUCT.md "JSON API": 413 for an oversized body).

1 MiB holds a batch of 1,000 usage events with room to spare, and is below Django's
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB), which only guards form parsing: ninja reads request.body.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

MAX_BODY_BYTES = 1024 * 1024
MSG_BODY_TOO_LARGE = (
    "The request body is larger than 1 MiB. Send fewer items per request (at most 1,000 events)."
)


def body_too_large(request: HttpRequest) -> bool:
    """Whether the body is over MAX_BODY_BYTES, by its Content-Length or by its actual size."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0  # what Django itself assumes for a malformed Content-Length
    if declared > MAX_BODY_BYTES:
        return True  # without reading a byte of it
    try:
        # Under WSGI the stream stops at Content-Length; under ASGI a chunked body has none, so
        # the size read is what counts. Reading caches it on the request for ninja's parsing.
        return len(request.body) > MAX_BODY_BYTES
    except RequestDataTooBig:
        return True  # over DATA_UPLOAD_MAX_MEMORY_SIZE, if that is set lower than our limit
