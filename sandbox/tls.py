"""The sandbox's own certificate authority and server certificate, and how its secret files are written.

simple-salesforce hard-codes ``https://``, so the emulators must speak TLS. A throwaway CA (trustme) signs a
certificate for 127.0.0.1 and localhost; clients trust it through ``REQUESTS_CA_BUNDLE=<data-dir>/ca.pem``.
The files are kept across restarts so that a client configured once keeps working; ``--reset`` makes new ones.

The data directory holds secrets (the server key, the connection files with the sandbox's credentials): it is
0700, and every file here is created 0600 from its first byte (``write_private``: a new file opened with that
mode, renamed over the old one), never written first and narrowed afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib

import trustme

__all__ = ["CertPaths", "ensure_certificates", "private_dir", "write_private"]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclasses.dataclass(frozen=True)
class CertPaths:
    ca: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def private_dir(path: pathlib.Path) -> pathlib.Path:
    """``path`` as a directory only its owner can enter (created so, or narrowed if it was already there)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file: a new file created with that mode (whatever the umask), then
    renamed over ``path``, so neither a reader nor a crash ever sees it wider or half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by a crash: O_EXCL below must create it anew, with our mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # the umask can only narrow the mode; this makes it exact
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_certificates(data_dir: pathlib.Path, *, reset: bool = False) -> CertPaths:
    """Return the CA and server certificate paths in ``data_dir``, creating them when missing (or on reset)."""
    paths = CertPaths(ca=data_dir / "ca.pem", cert=data_dir / "server.pem", key=data_dir / "server.key")
    private_dir(data_dir)
    if not reset and all(p.exists() for p in (paths.ca, paths.cert, paths.key)):
        paths.key.chmod(PRIVATE_FILE_MODE)  # one written by an older version, write-then-chmod
        return paths
    ca = trustme.CA(organization_name="presence-sync sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    write_private(paths.key, server.private_key_pem.bytes())
    write_private(paths.ca, ca.cert_pem.bytes())
    write_private(paths.cert, b"".join(pem.bytes() for pem in server.cert_chain_pems))
    return paths
