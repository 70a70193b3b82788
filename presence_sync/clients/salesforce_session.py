"""``SalesforceSession``: how presence-sync reaches a Salesforce org, written once for every kind.

How it talks (architecture decision 2):

* an OAuth 2.0 token from ``{SF_LOGIN_URL}/services/oauth2/token`` (password or client-credentials
  grant) with ``requests``;
* then simple-salesforce in session mode, ``Salesforce(session_id=..., instance_url=..., version=...)``,
  for SOQL and sObject REST calls, and its ``mdapi`` (zeep over the bundled Metadata API WSDL) for
  metadata components. zeep is pointed at our session, so the Metadata API is counted, time-limited and
  trusts ``REQUESTS_CA_BUNDLE`` like everything else, and its DEBUG logging (which would print the
  session id inside every SOAP envelope) is switched off.

Every call runs under ``run``: transient errors are retried with backoff, an expired session (REST 401
``INVALID_SESSION_ID`` or SOAP fault ``sf:INVALID_SESSION_ID``) triggers one new login and one repeat.
simple-salesforce exceptions, zeep faults and Metadata API ``success=false`` results are mapped to
``presence_sync.clients.errors`` in ``salesforce_errors``; secrets are redacted from every message.

What each kind of object needs (its SOQL, its metadata components) lives in that kind's proxy
(``presence_sync/clients/<kind>.py``), which calls the org only through this session. The session is
thread-safe (the Pulumi dynamic provider process runs up to four calls at once): the login is serialised,
and the read cache (``cached``) loads each list once per process and is dropped by any write (``write``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import requests
import zeep.exceptions
from requests.adapters import BaseAdapter
from simple_salesforce import Salesforce, SFType
from simple_salesforce.exceptions import SalesforceError

from presence_sync.clients._cache import ReadCache
from presence_sync.clients._http import CallCounter, build_session, json_body, transport_error
from presence_sync.clients.errors import (
    AuthenticationFailed,
    NotFound,
    Redactor,
    VendorError,
    salesforce_error_class,
)
from presence_sync.clients.retry import RetryPolicy, call_with_retry
from presence_sync.clients.salesforce_errors import MetadataFailure, reject_non_soap, salesforce_vendor_error
from presence_sync.clients.settings import SalesforceSettings

__all__ = ["Connection", "MetadataFailure", "SalesforceSession"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class _SilentLogger(logging.Logger):
    """A logger that never logs, whatever the logging configuration says.

    zeep logs whole SOAP envelopes at DEBUG, SessionHeader (our token) and consumerSecret included. A logger
    from ``getLogger`` with ``disabled = True`` is not enough: ``logging.config.dictConfig`` (uvicorn's, for one)
    resets ``disabled`` on every registered logger. This one is never registered, and refuses every level.
    """

    def isEnabledFor(self, level: int) -> bool:
        return False

    def _log(self, *args: Any, **kwargs: Any) -> None:
        return None


_SILENT_ZEEP_LOGGER = _SilentLogger("presence_sync.clients.salesforce_session.zeep")


class Connection:
    """One login: the simple-salesforce handle, its Metadata API proxy and the token's generation."""

    def __init__(self, sf: Salesforce, instance_url: str, generation: int) -> None:
        self.sf = sf
        self.instance_url = instance_url
        self.generation = generation
        self._mdapi: Any = None
        self._lock = threading.Lock()

    def mdapi(self, session: requests.Session) -> Any:
        with self._lock:  # building the zeep client parses a 27k-line WSDL: once per login
            if self._mdapi is None:
                mdapi = self.sf.mdapi
                transport = mdapi._client.transport
                transport.session = session
                transport.logger = _SILENT_ZEEP_LOGGER
                # deploy/checkDeployStatus add Content-Type: text/xml to the headers they are given: not the
                # REST calls' dict, shared with simple-salesforce's handle.
                mdapi.headers = dict(mdapi.headers)
                self._mdapi = mdapi
            return self._mdapi


class SalesforceSession:
    """One org: login, the retried and error-mapped ``run``, the read cache, and the SOQL and Metadata API
    primitives the per-kind proxies are written in. See the module docstring."""

    vendor = "salesforce"

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: BaseAdapter | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self._retry = retry or RetryPolicy()
        self._redact = Redactor([settings.client_secret.get_secret_value()])
        if settings.password is not None:
            self._redact.add(settings.password.get_secret_value())
        self._calls = CallCounter()
        self._auth_calls = CallCounter()
        self._session = build_session(transport, counter=self._calls, timeout=timeout, ca_bundle=settings.ca_bundle)
        self._session.hooks["response"].append(reject_non_soap)
        self._auth_session = build_session(
            transport, counter=self._auth_calls, timeout=timeout, ca_bundle=settings.ca_bundle
        )
        self._login_lock = threading.Lock()
        self._connection: Connection | None = None
        self._generation = 0
        self.cache = ReadCache()

    # ------------------------------------------------------------------------------------------
    # Accounting

    @property
    def api_calls(self) -> int:
        """HTTP requests sent to the org's APIs (REST, SOAP; the Pub/Sub stream is gRPC, not counted); token
        requests excluded."""
        return self._calls.value

    @property
    def auth_calls(self) -> int:
        """Token requests sent to ``/services/oauth2/token``."""
        return self._auth_calls.value

    @property
    def instance_url(self) -> str:
        return self._connect().instance_url

    # ------------------------------------------------------------------------------------------
    # Authentication

    def authenticate(self) -> None:
        """Log in now (otherwise the first call does). Raises AuthenticationFailed on bad credentials."""
        self.run("authenticate", None, lambda conn: None)

    def _connect(self) -> Connection:
        with self._login_lock:
            if self._connection is None:
                self._connection = self._login()
            return self._connection

    def _relogin(self, stale_generation: int) -> None:
        with self._login_lock:
            # Another thread may already have replaced the token that expired under us.
            if self._connection is None or self._connection.generation == stale_generation:
                self._connection = self._login()

    def _login(self) -> Connection:
        settings = self.settings
        form: dict[str, str] = {
            "grant_type": settings.grant,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret.get_secret_value(),
        }
        if settings.grant == "password":
            assert settings.username is not None and settings.password is not None  # settings enforce it
            form["username"] = settings.username
            form["password"] = settings.password.get_secret_value()
        url = f"{settings.login_url}/services/oauth2/token"
        operation, about = "authenticate", f"user {settings.username!r}" if settings.username else "client"
        try:
            response = self._auth_session.post(url, data=form, headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise transport_error(exc, vendor="salesforce", operation=operation, object=about) from None
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            body = body if isinstance(body, dict) else {}
            code = body.get("error") or None
            description = self._redact(str(body.get("error_description") or response.reason or "no token returned"))
            if response.status_code in (400, 401, 403):
                cls: type[VendorError] = AuthenticationFailed
            else:
                cls = salesforce_error_class(response.status_code, code)
            raise cls(
                description,
                vendor="salesforce",
                operation=operation,
                object=about,
                error_code=code,
                status=response.status_code,
                hint=(
                    "Check SF_CLIENT_ID/SF_CLIENT_SECRET and SF_USERNAME/SF_PASSWORD (append the security "
                    "token if the org requires one), and that the OAuth app allows this grant."
                    if cls is AuthenticationFailed
                    else None
                ),
            )
        token = str(body["access_token"])
        self._redact.add(token)
        instance_url = str(body.get("instance_url") or settings.login_url).rstrip("/")
        self._generation += 1
        sf = Salesforce(
            session_id=token, instance_url=instance_url, version=settings.api_version, session=self._session
        )
        log.info("salesforce: logged in to %s (session %d)", instance_url, self._generation)
        return Connection(sf, instance_url, self._generation)

    # ------------------------------------------------------------------------------------------
    # The one way every operation runs: retry, re-login once, map errors.

    def run(self, operation: str, about: str | None, fn: Callable[[Connection], T]) -> T:
        seen: list[int] = [0]

        def attempt() -> T:
            conn = self._connect()
            seen[0] = conn.generation
            try:
                return fn(conn)
            except VendorError:
                raise
            except (SalesforceError, zeep.exceptions.Error, requests.RequestException, MetadataFailure) as exc:
                raise salesforce_vendor_error(exc, operation, about, self._redact) from None

        return call_with_retry(
            attempt,
            policy=self._retry,
            reauthenticate=lambda: self._relogin(seen[0]),
            describe=f"salesforce {operation}" + (f" {about}" if about else ""),
        )

    def redact_secret(self, secret: str | None) -> None:
        """Never show ``secret`` in an error message of this session (a generated key, a consumer secret)."""
        self._redact.add(secret)

    def redacted(self, text: str) -> str:
        return self._redact(text)

    # ------------------------------------------------------------------------------------------
    # Writes and reads the proxies are made of (``fn`` runs inside ``run``, given the connection)

    def write(self, operation: str, about: str, fn: Callable[[Connection], T]) -> T:
        try:
            return self.run(operation, about, fn)
        finally:
            # Even a failed write may have changed something (a lost response): drop cached lists.
            self.cache.forget()

    def cached(self, key: str, load: Callable[[], T]) -> T:
        return self.cache.get(key, load)

    def invalidate_cache(self) -> None:
        self.cache.forget()

    @staticmethod
    def read_back(operation: str, about: str, read: Callable[[], T | None]) -> T:
        record = read()
        if record is None:
            raise NotFound(
                "the write succeeded but reading it back found nothing",
                vendor="salesforce",
                operation=operation,
                object=about,
                hint="Salesforce may be slow to expose new metadata to SOQL; run the command again.",
            )
        return record

    @staticmethod
    def query_all(conn: Connection, soql: str) -> list[dict[str, Any]]:
        """Every row of a SOQL query (build ``soql`` with simple-salesforce's ``format_soql``)."""
        log.debug("salesforce SOQL: %s", soql)
        return list(conn.sf.query_all(soql)["records"])

    @staticmethod
    def sobject(conn: Connection, name: str) -> SFType:
        return cast(SFType, getattr(conn.sf, name))

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry

    def mdapi(self, conn: Connection) -> Any:
        """simple-salesforce's Metadata API handle of this login, on this session's HTTP session."""
        return conn.mdapi(self._session)

    def metadata_call(self, conn: Connection, op: str, *args: Any) -> Any:
        # simple-salesforce's MetadataType.create/update/delete flatten SaveResults into a bare
        # Exception string; calling the zeep operation keeps statusCode and fields structured.
        mdapi = conn.mdapi(self._session)
        return getattr(mdapi._service, op)(*args, _soapheaders=[mdapi._session_header])

    def metadata_type(self, conn: Connection, name: str, **fields: Any) -> Any:
        return getattr(conn.mdapi(self._session), name)(**fields)

    @staticmethod
    def check_results(results: Any) -> None:
        for result in results if isinstance(results, list) else [results]:
            if result is None or result.success:
                continue
            errors = list(result.errors or [])
            first = errors[0] if errors else None
            fields = list(getattr(first, "fields", None) or []) if first is not None else []
            raise MetadataFailure(
                str(getattr(first, "statusCode", None) or "UNKNOWN_EXCEPTION"),
                str(getattr(first, "message", None) or "the Metadata API rejected the component"),
                fields[0] if fields else None,
            )

    def metadata_read(self, conn: Connection, type_name: str, full_name: str) -> Any | None:
        """readMetadata for one component; None when it does not exist (the API answers fullName=None)."""
        records = self.metadata_call(conn, "readMetadata", type_name, [full_name])
        record = records[0] if isinstance(records, list) and records else records
        if record is None or getattr(record, "fullName", None) is None:
            return None
        return record

    def metadata_save(self, op: str, type_name: str, component: Mapping[str, Any], conn: Connection) -> None:
        """createMetadata/updateMetadata of one component given as fields (``partial`` it into ``write``)."""
        self.check_results(self.metadata_call(conn, op, [self.metadata_type(conn, type_name, **component)]))

    def metadata_delete(self, type_name: str, full_name: str, conn: Connection) -> None:
        """deleteMetadata of one component; already gone is success (idempotent delete)."""
        try:
            self.check_results(self.metadata_call(conn, "deleteMetadata", type_name, [full_name]))
        except MetadataFailure as failure:
            if failure.status_code in ("INVALID_CROSS_REFERENCE_KEY", "NOT_FOUND", "ENTITY_IS_DELETED"):
                return
            raise

    def close(self) -> None:
        self._session.close()
        self._auth_session.close()
