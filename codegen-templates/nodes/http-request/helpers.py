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
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"the URL must start with http:// or https://, not {url!r}")
    if query:
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        pairs = {name: text(value) for name, value in query.items()}
        url = url + separator + urllib.parse.urlencode(pairs)
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
    charset = response_headers.get_content_charset() or "utf-8"
    content = payload.decode(charset, "replace")
    result: Any = content
    if response_headers.get_content_type().endswith("json") and content:
        try:
            result = json.loads(content)
        except json.JSONDecodeError:
            pass
    if fail_on_error and status >= 400:
        raise HttpStatusError(f"{method} {url} answered {status}: {content[:500]}")
    return {"status": status, "data": result, "headers": dict(response_headers.items())}
