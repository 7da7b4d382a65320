# -*- coding: utf-8 -*-
# Copyright: (c) 2026, kaspersky.edr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway PKI for the fake servers: a CA, a server certificate, client certificates.

Everything is generated into one directory; nothing is ever reused outside the tests.
Besides the good set it makes the bad ones the TLS tests need: a second CA with its own
server and client certificates, an expired server certificate, a server certificate for
another host name, and an encrypted client key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLIENT_KEY_PASSPHRASE = "test-passphrase-7f3a"


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kaspersky.edr tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _make_ca(common_name):
    key = _key()
    cert = (x509.CertificateBuilder()
            .subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(ca_key, ca_cert, common_name, server=True, names=("localhost", "127.0.0.1"), expired=False):
    key = _key()
    if expired:
        not_before, not_after = _now() - datetime.timedelta(days=10), _now() - datetime.timedelta(days=1)
    else:
        not_before, not_after = _now() - datetime.timedelta(days=1), _now() + datetime.timedelta(days=30)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if server:
        alt_names = []
        for name in names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt_names.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    return path


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def generate(directory):
    """Create the PKI in ``directory`` (idempotent); return a dict of file paths."""
    paths = {name: os.path.join(directory, name + ".pem") for name in (
        "ca", "server", "server_key", "client", "client_key", "client_combined", "client_key_encrypted",
        "other_ca", "other_server", "other_server_key", "other_client", "other_client_key",
        "expired_server", "expired_server_key", "wrong_host_server", "wrong_host_server_key")}
    if all(os.path.exists(path) for path in paths.values()):
        return paths
    if not os.path.isdir(directory):
        os.makedirs(directory)
    ca_key, ca_cert = _make_ca("kaspersky.edr test CA")
    other_ca_key, other_ca_cert = _make_ca("untrusted test CA")
    _write(paths["ca"], _cert_pem(ca_cert))
    _write(paths["other_ca"], _cert_pem(other_ca_cert))

    def issue(prefix, key_of, cert_of, common_name, **kwargs):
        key, cert = _issue(key_of, cert_of, common_name, **kwargs)
        _write(paths[prefix], _cert_pem(cert))
        _write(paths[prefix + "_key"], _key_pem(key))
        return key, cert

    issue("server", ca_key, ca_cert, "localhost")
    client_key, client_cert = issue("client", ca_key, ca_cert, "ansible-external-system", server=False)
    _write(paths["client_combined"], _cert_pem(client_cert) + _key_pem(client_key))
    _write(paths["client_key_encrypted"], _key_pem(client_key, CLIENT_KEY_PASSPHRASE))
    issue("other_server", other_ca_key, other_ca_cert, "localhost")
    issue("other_client", other_ca_key, other_ca_cert, "rogue-client", server=False)
    issue("expired_server", ca_key, ca_cert, "localhost", expired=True)
    issue("wrong_host_server", ca_key, ca_cert, "central-node.example", names=("central-node.example",))
    return paths
