"""Federation on Flower (issue 16): a server and 3 client processes over loopback give the same global
model as the in-process federation with the same seeds — bit for bit, here with TLS and the pre-shared
key challenge on, and across an interruption and resume; a client without the key is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
import subprocess
import sys

import numpy as np
import pytest

flwr = pytest.importorskip("flwr", reason="Flower is in the optional extra: pip install 'slicebridge[distributed]'")

from cryptography import x509  # noqa: E402  (a dependency of flwr)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from slicebridge.distributed.edge import EdgeConfig, FederationSpec, make_server, run_in_process, spec_digest  # noqa: E402
from slicebridge.distributed.flower import OurStrategy, auth_answer, load_global_model, wait_reachable  # noqa: E402

SETTINGS = ["--scenario", "tiny", "--clients", "3", "--local-steps", "8", "--num-envs", "2", "--seed", "7", "--strategy", "fedavg"]


def _spec() -> tuple[EdgeConfig, FederationSpec]:
    return EdgeConfig(scenario="tiny", local_steps=8, num_envs=2, seed=7), FederationSpec(clients=3, strategy="fedavg")


def _write_tls(folder) -> dict[str, str]:
    """A CA and a server certificate for 127.0.0.1 (what docs/DISTRIBUTED.md makes with openssl)."""
    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject, issuer, key, signer, ca: bool, san=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
             .not_valid_after(now + dt.timedelta(days=1)).add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slicebridge test CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, True)
    srv = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, srv_key, ca_key, False,
               [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    files = {"ca-cert": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca-cert"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(srv_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    (folder / "fed.key").write_bytes(b"a shared secret for the test federation")
    out = [f"--{k}={v}" for k, v in files.items()] + [f"--auth-key-file={folder / 'fed.key'}"]
    return {"argv": out}


def _flower_local(out, rounds: int, security: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "slicebridge.app.cli", "flower", "local", *SETTINGS, "--rounds", str(rounds),
                           "--out", str(out), *security], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout.split()
    assert left == [], f"processes of the Flower run left: {left}"
    return proc.stdout


def _equal(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_three_flower_client_processes_give_the_in_process_global_model(tmp_path):
    cfg, fed = _spec()
    security = _write_tls(tmp_path)["argv"]
    run = tmp_path / "run"
    # round 1, then the same command for 2 rounds: server and clients are new processes that resume
    # from their checkpoints (the server's and each client's own)
    first = _flower_local(run, 1, security)
    assert "round 1: clients [0, 1, 2] accepted" in first and "TLS, clients authenticated by key" in first
    _equal(load_global_model(run), run_in_process(cfg, fed, rounds=1).global_params)
    second = _flower_local(run, 2, security)
    assert "resumed after round 1" in second and "round 2: clients [0, 1, 2] accepted" in second
    _equal(load_global_model(run), run_in_process(cfg, fed, rounds=2).global_params)


class _Proxy:
    def __init__(self, cid: str, client_id: int, key: bytes | None, digest: str):
        self.cid, self.client_id, self.key, self.digest = cid, client_id, key, digest

    def get_properties(self, ins, timeout, group_id):
        props = {"client_id": self.client_id, "spec": self.digest}
        if self.key is not None:
            props["auth"] = auth_answer(self.key, ins.config["nonce"], self.client_id)
        return flwr.common.GetPropertiesRes(status=flwr.common.Status(flwr.common.Code.OK, ""), properties=props)


class _Manager:
    def __init__(self, proxies):
        self.proxies = {p.cid: p for p in proxies}

    def all(self):
        return self.proxies

    def wait_for(self, n, timeout):
        return False


def test_only_clients_answering_the_key_challenge_take_part(monkeypatch):
    cfg, fed = _spec()
    key, digest = b"right key", spec_digest(cfg, fed)
    lines = []
    strategy = OurStrategy(make_server(cfg, FederationSpec(clients=2)), digest, auth_key=key, wait_s=0.5, report=lines.append)
    proxies = [_Proxy("a", 0, key, digest), _Proxy("b", 1, b"wrong key", digest), _Proxy("c", 1, None, digest), _Proxy("d", 1, key, "other")]
    with pytest.raises(TimeoutError, match=r"only clients \[0\] of 0..1 joined"):
        strategy._identify(_Manager(proxies))
    assert strategy.ids == {"a": 0} and strategy.refused == {"b", "c", "d"}
    assert lines == ["[flower] client 0 joined (1/2)"]


def test_a_client_that_reconnects_is_taken_back():
    cfg, fed = _spec()
    digest = spec_digest(cfg, fed)
    strategy = OurStrategy(make_server(cfg, FederationSpec(clients=1)), digest, wait_s=0.5, report=lambda line: None)
    manager = _Manager([_Proxy("first", 0, None, digest)])
    assert {k: p.cid for k, p in strategy._identify(manager).items()} == {0: "first"}
    manager.proxies = {"again": _Proxy("again", 0, None, digest)}  # the process restarted: a new Flower cid
    assert {k: p.cid for k, p in strategy._identify(manager).items()} == {0: "again"}


def test_a_client_waits_for_a_server_that_is_not_listening_yet():
    """Flower's client dies on a refused connection; ours waits (``--wait``) for a server still starting."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    with pytest.raises(ConnectionError, match=address):
        wait_reachable(address, max_wait_s=0.3)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    late = threading.Timer(0.5, lambda: (listener.bind(("127.0.0.1", port)), listener.listen()))
    late.start()
    try:
        t0 = time.monotonic()
        wait_reachable(address, max_wait_s=30)
        assert time.monotonic() - t0 >= 0.4, "returned before the server listened"
    finally:
        late.join()
        listener.close()
