"""A self-signed serving certificate, for when none is configured.

The kubelet does the same (pki/kubelet.crt): TLS is never off, but the API
server can only verify the node once an operator installs a certificate
from a CA it trusts (--kubelet-certificate-authority).
"""

import datetime
import ipaddress
import os
import tempfile

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import NameOID

VALIDITY = datetime.timedelta(days=365)


def _san(names):
    entries = []
    for name in names:
        if not name:
            continue
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def self_signed(common_name, names, now=None):
    """(certificate PEM, key PEM) valid for names (host names or IPs)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                            common_name)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def write_private(directory, name, data):
    """data in a file only this user can read; returns its path."""
    fd, path = tempfile.mkstemp(prefix=name, dir=directory)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)
    return path
