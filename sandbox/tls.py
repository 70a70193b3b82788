"""The sandbox's own certificate authority and server certificate.

simple-salesforce hard-codes ``https://``, so the emulators must speak TLS. A throwaway CA (trustme) signs a
certificate for 127.0.0.1 and localhost; clients trust it through ``REQUESTS_CA_BUNDLE=<data-dir>/ca.pem``.
The files are kept across restarts so that a client configured once keeps working; ``--reset`` makes new ones.
"""

from __future__ import annotations

import dataclasses
import pathlib

import trustme

__all__ = ["CertPaths", "ensure_certificates"]


@dataclasses.dataclass(frozen=True)
class CertPaths:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def ensure_certificates(data_dir: pathlib.Path, *, reset: bool = False) -> CertPaths:
    """Return the CA and server certificate paths in ``data_dir``, creating them when missing (or on reset)."""
    paths = CertPaths(ca=data_dir / "ca.pem", cert=data_dir / "server.pem", key=data_dir / "server.key")
    if not reset and all(p.exists() for p in (paths.ca, paths.cert, paths.key)):
        return paths
    data_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="presence-sync sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.cert_chain_pems[0].write_to_path(str(paths.cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.cert), append=True)
    server.private_key_pem.write_to_path(str(paths.key))
    paths.key.chmod(0o600)
    return paths
