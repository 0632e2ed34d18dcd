"""A certificate authority and serving certificate made at start, so clients exercise TLS."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import trustme

__all__ = ["ServingCertificate"]


@dataclass(frozen=True)
class ServingCertificate:
    """A fresh CA and a loopback serving certificate signed by it."""

    ca_pem: bytes
    _server: trustme.LeafCert

    @classmethod
    def for_loopback(cls) -> ServingCertificate:
        ca = trustme.CA(organization_name="asyncswitch emulated hub")
        leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
        return cls(ca.cert_pem.bytes(), leaf)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server.configure_cert(ctx)
        return ctx
