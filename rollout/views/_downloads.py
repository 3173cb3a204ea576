"""A file download streamed as it is written (the evidence and org-wide activity exports)."""

from collections.abc import Iterator

from django.http import StreamingHttpResponse


def download(chunks: Iterator[str], *, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
