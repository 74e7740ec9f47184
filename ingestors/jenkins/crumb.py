"""Jenkins authentication: an API token over basic auth, and the CSRF crumb for servers that
ask for one.

With an API token Jenkins does not check crumbs, but a controller behind some proxies, or
with a plugin that insists, answers ``403 No valid crumb was included in the request``.
:class:`JenkinsAuth` then fetches a crumb (``GET /crumbIssuer/api/json``: ``crumbRequestField``
and ``crumb``), keeps it with the session cookie Jenkins ties it to, and sends the request
again with both; later requests carry the crumb from the start.
"""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
import orjson

CRUMB_PATH = "crumbIssuer/api/json"
NO_VALID_CRUMB = b"No valid crumb"


class JenkinsAuth(httpx.Auth):
    """Basic auth with ``user:api-token``, and the crumb when the server asks for it."""

    requires_response_body = True

    def __init__(self, root_url: str, user: str | None, token: str | None) -> None:
        self.crumb_url = f"{root_url.rstrip('/')}/{CRUMB_PATH}"
        self._basic: str | None = None
        if user and token:
            self._basic = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.crumb: tuple[str, str] | None = None
        self.crumbs_fetched = 0

    def _sign(self, request: httpx.Request) -> None:
        if self._basic is not None:
            request.headers["Authorization"] = self._basic
        if self.crumb is not None:
            request.headers[self.crumb[0]] = self.crumb[1]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._sign(request)
        response = yield request
        if response.status_code != 403 or NO_VALID_CRUMB not in response.content:
            return
        ask = httpx.Request("GET", self.crumb_url, headers={"Accept": "application/json"})
        self._sign(ask)
        answer = yield ask
        self.crumbs_fetched += 1
        crumb = _parse_crumb(answer)
        if crumb is None:
            return  # the 403 stands; the caller reports it
        self.crumb = crumb
        # Jenkins ties a crumb to the web session that asked for it.
        session = httpx.Cookies()
        session.extract_cookies(answer)
        if session:
            request.headers.pop("Cookie", None)
            session.set_cookie_header(request)
        self._sign(request)
        yield request


def _parse_crumb(response: httpx.Response) -> tuple[str, str] | None:
    if response.status_code != 200:
        return None
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    field, crumb = body.get("crumbRequestField"), body.get("crumb")
    if isinstance(field, str) and field and isinstance(crumb, str) and crumb:
        return field, crumb
    return None
