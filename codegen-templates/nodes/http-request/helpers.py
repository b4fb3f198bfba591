import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class HttpStatusError(Exception):
    """The server answered with a 4xx or 5xx status."""


def http_request(
    method: str,
    url: str,
    headers: dict[str, Any],
    query: dict[str, Any],
    body: Any,
    timeout_seconds: float,
    fail_on_error: bool,
) -> dict[str, Any]:
    """Sends one HTTP request and returns {"status", "data", "headers"}.

    `data` is the parsed response body when it is JSON, else its text. A string body is
    sent as text/plain, any other value but None as JSON.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the URL must start with http:// or https://, not {url!r}")
    if query:
        pairs = urllib.parse.urlencode({name: text(v) for name, v in query.items()})
        joined = f"{parts.query}&{pairs}" if parts.query else pairs
        url = urllib.parse.urlunsplit(parts._replace(query=joined))
    request_headers = {name: text(value) for name, value in headers.items()}
    data = None
    if body is not None:
        is_text = isinstance(body, str)
        data = (body if is_text else json.dumps(body)).encode("utf-8")
        content_type = "text/plain" if is_text else "application/json"
        if not any(name.lower() == "content-type" for name in request_headers):
            request_headers["Content-Type"] = f"{content_type}; charset=utf-8"
    request = urllib.request.Request(url, data, request_headers, method=method)
    try:
        response = urllib.request.urlopen(request, timeout=timeout_seconds)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        status, payload, response_headers = (
            response.status,
            response.read(),
            response.headers,
        )
    try:
        content = payload.decode(
            response_headers.get_content_charset("utf-8"), "replace"
        )
    except LookupError:  # a charset Python does not know
        content = payload.decode("utf-8", "replace")
    result: Any = content
    if response_headers.get_content_type().endswith("json") and content:
        try:
            result = json.loads(content)
        except json.JSONDecodeError:
            pass
    if fail_on_error and status >= 400:
        raise HttpStatusError(f"{method} {url} answered {status}: {content[:500]}")
    names = dict.fromkeys(response_headers.keys())
    # A header sent several times (Set-Cookie, Vary…) keeps every value, comma-joined.
    merged = {name: ", ".join(response_headers.get_all(name, [])) for name in names}
    return {"status": status, "data": result, "headers": merged}
