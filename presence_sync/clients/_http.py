"""HTTP plumbing shared by the two clients: metered ``requests`` sessions and transport-error mapping.

Every request a client makes goes through a ``MeteredAdapter`` mounted on its session. It counts
the request (the ``api_calls`` that API-economy tests assert), applies a default timeout (requests
has none) and the configured CA bundle, and delegates to the real transport -- urllib3's
``HTTPAdapter`` in production, a fake adapter in unit tests. zeep (the Metadata API) is pointed at
the same session, so SOAP calls are counted, time-limited and trusted the same way.

The sessions do not consult the process environment on every request (``trust_env`` would scan the proxy
variables and read ``~/.netrc`` per call, about half a millisecond each): the environment is read once instead.
Proxies (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` with ``NO_PROXY``) are resolved once per scheme and host
by the adapter and cached; ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` is read at session creation when no CA
bundle is configured. ``.netrc`` is not used: every request carries the client's own credentials.

Pooled keep-alive connections go stale: a server (the vendors, the sandbox) closes one that sat idle, and a request
sent on it just as it closes fails with ``RemoteDisconnected``/``ConnectionResetError`` before any byte of a
response. urllib3's pool only notices a close that has already arrived, so the race remains; the real transport
therefore retries such a request once, on a new connection, through urllib3's own ``Retry``
(``StaleConnectionRetry``) -- for idempotent methods only. A POST is never repeated by default: the server may
have acted on it. Nothing else is retried here (read timeouts, refused connections, 429/503): the clients'
``RetryPolicy`` decides those, with backoff and a budget.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from presence_sync.clients.errors import ConnectionFailed, PermanentVendorError, Vendor, VendorError

__all__ = [
    "IDEMPOTENT_METHODS",
    "CallCounter",
    "MeteredAdapter",
    "StaleConnectionRetry",
    "build_session",
    "dropped_before_response",
    "json_body",
    "retry_once_on_stale_connection",
    "transport_error",
]

USER_AGENT = "presence-sync/0.1 (+python-requests)"
# Methods whose repetition leaves the server as one request would (RFC 9110, 9.2.2). POST and PATCH are not.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class StaleConnectionRetry(Retry):
    """A urllib3 ``Retry`` that repeats only a request whose connection dropped before any byte of the response
    (``RemoteDisconnected``, a reset, a broken pipe): what a stale keep-alive connection looks like.

    Every other error is raised exactly as with requests' default ``Retry(0, read=False)``: a read timeout
    means the server may be working on the request, and it stays a ``requests.ReadTimeout``.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> StaleConnectionRetry:
        if error is not None and self._is_read_error(error) and not dropped_before_response(error):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def dropped_before_response(error: Exception) -> bool:
    """Whether urllib3 reports a connection the server closed or reset before answering. urllib3 wraps the
    socket's error as ``ProtocolError("Connection aborted.", <error>)``; ``http.client.RemoteDisconnected``
    (no status line at all) is a ``ConnectionResetError``."""
    if not isinstance(error, ProtocolError):
        return False
    return any(isinstance(arg, (ConnectionResetError, BrokenPipeError)) for arg in error.args)


def retry_once_on_stale_connection(methods: frozenset[str] = IDEMPOTENT_METHODS) -> StaleConnectionRetry:
    """One repeat, at once, of a ``methods`` request whose pooled connection turned out to be closed.

    ``connect=0``: a refused connection is the clients' ``RetryPolicy``'s business (backoff, budget);
    ``status=0`` and no Retry-After: a 429/503 is returned as it came, never slept on here."""
    return StaleConnectionRetry(
        total=1,
        connect=0,
        read=1,
        status=0,
        other=0,
        redirect=0,
        backoff_factor=0,
        allowed_methods=methods,
        respect_retry_after_header=False,
        raise_on_status=False,
    )


class CallCounter:
    """A thread-safe count of requests sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def increment(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._count


class MeteredAdapter(BaseAdapter):
    """Counts requests, applies the default timeout and CA bundle, then delegates to ``inner``.

    An ``HTTPAdapter`` left without retries (requests' default) gets ``retry_once_on_stale_connection()``;
    one given a ``Retry`` of its own keeps it. A request counts once however often the transport sent it.
    """

    def __init__(
        self,
        inner: BaseAdapter | None,
        *,
        counter: CallCounter,
        timeout: float,
        ca_bundle: str | None = None,
    ) -> None:
        super().__init__()
        self._inner = inner if inner is not None else HTTPAdapter()
        if isinstance(self._inner, HTTPAdapter) and self._inner.max_retries.total == 0:
            self._inner.max_retries = retry_once_on_stale_connection()
        self._counter = counter
        self._timeout = timeout
        self._ca_bundle = ca_bundle
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}  # (scheme, host) -> proxies from the environment

    def environ_proxies(self, url: str | None) -> dict[str, str]:
        """The proxies the environment gives ``url`` (honouring NO_PROXY), resolved once per scheme and host."""
        parts = urlsplit(url or "")
        key = (parts.scheme, parts.netloc)
        found = self._proxies.get(key)
        if found is None:
            found = self._proxies[key] = dict(get_environ_proxies(url or "", no_proxy=None))
        return found

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self._counter.increment()
        if timeout is None:
            timeout = self._timeout
        if self._ca_bundle and verify is not False:
            # The configured bundle wins over whatever requests merged in from the process environment
            # (a machine-wide REQUESTS_CA_BUNDLE would otherwise replace the sandbox's CA).
            verify = self._ca_bundle
        environ = self.environ_proxies(request.url)
        if environ:
            proxies = {**environ, **(proxies or {})}  # explicit (session or per-request) proxies win
        return self._inner.send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)

    def close(self) -> None:
        self._inner.close()


def build_session(
    transport: BaseAdapter | None, *, counter: CallCounter, timeout: float, ca_bundle: str | None
) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the environment is read once (see the module docstring), not per request
    if not ca_bundle:
        env_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if env_bundle:
            session.verify = env_bundle
    adapter = MeteredAdapter(transport, counter=counter, timeout=timeout, ca_bundle=ca_bundle)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def json_body(response: requests.Response) -> Any:
    """The parsed JSON body, or None when there is none or it is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return None


def transport_error(
    exc: requests.RequestException, *, vendor: Vendor, operation: str, object: str | None
) -> VendorError:
    """Map a ``requests`` exception (nothing usable came back) to our tree."""
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate the client does not trust will not start being trusted on retry.
        return PermanentVendorError(
            "the TLS certificate was not accepted",
            vendor=vendor,
            operation=operation,
            object=object,
            error_code="TLS",
            hint="Point REQUESTS_CA_BUNDLE at a CA bundle that trusts the server (the sandbox prints its CA path).",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        detail = "the request timed out"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        detail = "could not connect (refused, reset or unreachable)"
    else:
        detail = f"the request failed ({type(exc).__name__})"
    return ConnectionFailed(detail, vendor=vendor, operation=operation, object=object, error_code=type(exc).__name__)
