"""TLS on both ports (--tls-cert/--tls-key), with a server certificate from a private CA."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_process import LiveServer

from trackwire.v1 import tracking_service_pb2 as rpc
from trackwire.v1 import tracking_service_pb2_grpc


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca_and_server_cert(directory) -> tuple[bytes, str, str]:
    """A CA, and a certificate it signs for 127.0.0.1/localhost: (CA PEM, cert path, key path)."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {"not_valid_before": now - datetime.timedelta(minutes=5)}
    valid["not_valid_after"] = now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name("trackwire test CA"))
        .issuer_name(_name("trackwire test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder(**valid)
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(_pem(cert))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return _pem(ca), str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls-server")
    ca, cert, key = make_ca_and_server_cert(directory)
    live = LiveServer(
        directory, extra_args=["--tls-cert", cert, "--tls-key", key], tls_ca=ca
    ).start()
    yield live
    live.stop()


def test_grpc_over_tls_with_a_custom_ca(tls_server):
    with tls_server.grpc_channel() as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        created = stub.CreateExperiment(rpc.CreateExperimentRequest(name="over-tls"), timeout=10)
        found = stub.GetExperiment(
            rpc.GetExperimentRequest(experiment_id=created.experiment_id), timeout=10
        )
    assert found.experiment.name == "over-tls"
    assert "grpcs://" in tls_server.read_log()


def test_grpc_refuses_plaintext_and_unknown_ca(tls_server, tmp_path):
    with grpc.insecure_channel(tls_server.grpc_target) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SearchExperiments(rpc.SearchExperimentsRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    other_ca, _, _ = make_ca_and_server_cert(tmp_path)
    credentials = grpc.ssl_channel_credentials(root_certificates=other_ca)
    with grpc.secure_channel(tls_server.grpc_target, credentials) as channel:
        stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SearchExperiments(rpc.SearchExperimentsRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_https_with_a_custom_ca(tls_server, tmp_path):
    context = ssl.create_default_context(cadata=tls_server.tls_ca.decode())
    with httpx.Client(base_url=tls_server.http_url, verify=context, timeout=10) as client:
        assert client.get("/health").text == "OK"
        created = client.post("/api/2.0/mlflow/experiments/create", json={"name": "https"})
        assert created.status_code == 200, created.text
    assert tls_server.http_url.startswith("https://")
    with pytest.raises(httpx.ConnectError):
        httpx.get(tls_server.http_url + "/health", timeout=5)  # the system CAs do not know it
    plain = f"http://127.0.0.1:{tls_server.http_port}/health"
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain, timeout=5)
