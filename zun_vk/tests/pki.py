"""Certificates and ticket keys for tests of the host agent channel.

Made with the cryptography library, in the layout the host agent guide
describes: one CA for the agent channel, an agent server certificate
with the agent's address as subjectAltName, zun-vk's client certificate
(CN zun-vk), an Ed25519 ticket key pair. Also what an attacker might
hold: a CA of its own, a client certificate with another CN.
"""

import datetime
import ipaddress
import os

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _builder(subject, issuer, public_key):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)))


class CA(object):
    def __init__(self, cn):
        self.key = _key()
        self.name = _name(cn)
        self.cert = (_builder(self.name, self.name, self.key.public_key())
                     .add_extension(x509.BasicConstraints(ca=True,
                                                          path_length=0),
                                    critical=True)
                     .add_extension(x509.KeyUsage(
                         digital_signature=False, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=True,
                         crl_sign=True, encipher_only=False,
                         decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))

    def issue(self, cn, usage, dns=(), ips=()):
        key = _key()
        builder = (_builder(_name(cn), self.name, key.public_key())
                   .add_extension(x509.BasicConstraints(ca=False,
                                                        path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]),
                                  critical=False))
        sans = [x509.DNSName(d) for d in dns] + [
            x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(self.key, hashes.SHA256())


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class Files(object):
    """Paths of every PEM file, written under directory."""

    def __init__(self, directory, agent_cn='compute1'):
        directory = str(directory)
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        ca = CA('zun-vk agent channel CA')
        rogue = CA('some other CA')

        def pair(name, key, cert):
            setattr(self, name + '_key', _write(
                os.path.join(directory, name + '.key'), _key_pem(key)))
            setattr(self, name + '_cert', _write(
                os.path.join(directory, name + '.crt'), _cert_pem(cert)))

        self.ca = _write(os.path.join(directory, 'ca.crt'),
                         _cert_pem(ca.cert))
        self.rogue_ca = _write(os.path.join(directory, 'rogue-ca.crt'),
                               _cert_pem(rogue.cert))
        pair('agent', *ca.issue(agent_cn, ExtendedKeyUsageOID.SERVER_AUTH,
                                dns=['localhost'], ips=['127.0.0.1']))
        pair('client', *ca.issue('zun-vk', ExtendedKeyUsageOID.CLIENT_AUTH))
        pair('other_client', *ca.issue('mallory',
                                       ExtendedKeyUsageOID.CLIENT_AUTH))
        pair('rogue_client', *rogue.issue('zun-vk',
                                          ExtendedKeyUsageOID.CLIENT_AUTH))
        pair('rogue_agent', *rogue.issue(agent_cn,
                                         ExtendedKeyUsageOID.SERVER_AUTH,
                                         dns=['localhost'],
                                         ips=['127.0.0.1']))
        ticket_key = ed25519.Ed25519PrivateKey.generate()
        self.ticket_private = _write(
            os.path.join(directory, 'ticket.key'), _key_pem(ticket_key))
        self.ticket_public = _write(
            os.path.join(directory, 'ticket.pub'),
            ticket_key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo))
        other = ed25519.Ed25519PrivateKey.generate()
        self.other_ticket_private = _write(
            os.path.join(directory, 'other-ticket.key'), _key_pem(other))
