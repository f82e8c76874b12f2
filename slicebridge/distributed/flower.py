# SPDX-License-Identifier: GPL-2.0-only
"""Federation on Flower: each edge server a Flower client process, our strategies on the Flower server.

Needs the optional extra (``pip install 'slicebridge[distributed]'``: flwr 1.42). Pieces:

- :class:`EdgeFlowerClient`, a Flower ``NumPyClient`` around :class:`~.edge.EdgeClient` (its simulator
  and SB3 agent): ``fit`` trains locally from the global model and returns parameters, sample count
  and metrics; after each round it checkpoints itself (``federation.checkpoint``), and before a round
  it rolls back to its checkpoint of the round the server resumed from, when that differs.
- :class:`OurStrategy`, a Flower ``Strategy`` whose ``configure_fit``/``aggregate_fit`` run
  :class:`~slicebridge.federation.server.FederatedServer` — our selection generator, strategies
  (FedAvg, FedProx, success, uniform, median, trimmed mean), update validation, codec and byte
  accounting — so a Flower run and the in-process federation make the same decisions. Results are
  submitted in client-id order whatever order they arrive in (floating-point sums depend on order).
  The server checkpoints after every round and resumes from the last one.
- Authentication: with a pre-shared key, the server challenges every connecting client with a fresh
  nonce (``get_properties``) and only clients answering ``HMAC-SHA256(key, nonce:client_id)`` take part;
  the key never travels. TLS (``certificates``/``root_certificates``) encrypts the channel and
  authenticates the server. (Flower 1.42's SuperNode authentication exists only on the SuperLink
  deployment, not on the ``start_server``/``start_client`` transport used here.)

Transport: Flower's gRPC server (``flwr.server.start_server``; deprecated since Flower 1.13 in favour
of SuperLink/SuperNode deployments, still supported in 1.42) bound to the address given — 127.0.0.1
unless the user names another — and ``flwr.client.start_client`` in each client process. One port
listens, on the server; clients only connect. See docs/DISTRIBUTED.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import socket
import time
from pathlib import Path
from typing import Callable

import flwr
import numpy as np
from flwr.common import (
    FitIns,
    GetPropertiesIns,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import Strategy as FlowerStrategyBase

from slicebridge.distributed.edge import EdgeClient, EdgeConfig, FederationSpec, make_server, spec_digest
from slicebridge.federation.checkpoint import load_latest, load_state, round_dir_name, save_checkpoint
from slicebridge.federation.server import FederatedServer

log = logging.getLogger("slicebridge.flower")
FLOWER_VERSION = flwr.__version__


def auth_answer(key: bytes, nonce: str, client_id: int) -> str:
    return hmac.new(key, f"{nonce}:{client_id}".encode(), hashlib.sha256).hexdigest()


# -- client ---------------------------------------------------------------------------------------
class EdgeFlowerClient(flwr.client.NumPyClient):
    """One edge server; ``checkpoint_dir``: where it keeps its per-round state (None: no checkpoints)."""

    def __init__(self, cfg: EdgeConfig, fed: FederationSpec, client_id: int, checkpoint_dir: str | Path | None = None,
                 auth_key: bytes | None = None):
        self.edge = EdgeClient(cfg, client_id)
        self.digest = spec_digest(cfg, fed)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.auth_key = auth_key

    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Scalar]:
        props: dict[str, Scalar] = {"client_id": self.edge.client_id, "spec": self.digest}
        if self.auth_key is not None and "nonce" in config:
            props["auth"] = auth_answer(self.auth_key, str(config["nonce"]), self.edge.client_id)
        return props

    def get_parameters(self, config: dict[str, Scalar]) -> list[np.ndarray]:
        return self.edge.get_params()

    def fit(self, parameters: list[np.ndarray], config: dict[str, Scalar]):
        if config.get("spec") != self.digest:
            raise RuntimeError(f"client {self.edge.client_id}: the server's settings (digest {config.get('spec')}) differ from "
                               f"this client's ({self.digest}); start both with the same scenario and federation options")
        server_round = int(config["server_round"])
        self._roll_back_to(server_round - 1)
        params, samples, metrics = self.edge.fit(parameters, dict(config))
        if self.checkpoint_dir is not None:
            save_checkpoint(self.checkpoint_dir, server_round, {"client": self.edge.state_dict()}, keep=3)
        return params, samples, metrics

    def _roll_back_to(self, last_round: int) -> None:
        """Take the state of the newest own checkpoint at or before ``last_round`` (the server's last
        complete round) when it is not the state in memory: after a restart of this client or a resume
        of the server from an earlier round."""
        if self.checkpoint_dir is None or not self.checkpoint_dir.is_dir():
            return
        rounds = sorted(int(m.group(1)) for p in self.checkpoint_dir.iterdir() if (m := re.fullmatch(r"round_(\d+)", p.name)))
        usable = [r for r in rounds if r <= last_round]
        if usable and usable[-1] != self.edge.round:
            self.edge.load_state_dict(load_state(self.checkpoint_dir / round_dir_name(usable[-1]))["client"])
            log.info("client %d: continued from its checkpoint of round %d", self.edge.client_id, usable[-1])
        elif self.edge.round > last_round:
            raise RuntimeError(f"client {self.edge.client_id} holds round {self.edge.round} but the server continues after "
                               f"round {last_round} and no checkpoint of that round is left in {self.checkpoint_dir}")


def wait_reachable(address: str, max_wait_s: float) -> None:
    """Return once ``address`` (HOST:PORT) accepts TCP connections; ConnectionError after ``max_wait_s``.

    Flower's gRPC client gives up at once on a refused connection, so a client started together with
    its server (``flower local``, or a server slower to start under load) would otherwise die."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + max_wait_s
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=2.0):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ConnectionError(f"no Flower server reachable at {address} within {max_wait_s:g} s ({exc}): start "
                                      "the server first, check --server, or give a longer --wait") from None
            time.sleep(0.25)


def run_client(cfg: EdgeConfig, fed: FederationSpec, client_id: int, server_address: str, checkpoint_dir: str | Path | None = None,
               root_certificates: bytes | None = None, auth_key: bytes | None = None, max_wait_s: float = 120.0) -> None:
    """Connect to the server (waiting up to ``max_wait_s`` for it to listen), train whenever selected,
    return when the server ends the federation."""
    client = EdgeFlowerClient(cfg, fed, client_id, checkpoint_dir, auth_key)
    try:
        wait_reachable(server_address, max_wait_s)
        flwr.client.start_client(server_address=server_address, client=client.to_client(), insecure=root_certificates is None,
                                 root_certificates=root_certificates, max_wait_time=max_wait_s)
    finally:
        client.edge.close()
    print(f"[flower] client {client_id}: the server ended the federation after round {client.edge.round}", flush=True)


# -- server ---------------------------------------------------------------------------------------
class OurStrategy(FlowerStrategyBase):
    """A Flower strategy that delegates every decision to our :class:`FederatedServer`."""

    def __init__(self, server: FederatedServer, digest: str, checkpoint_dir: str | Path | None = None, auth_key: bytes | None = None,
                 wait_s: float = 300.0, report: Callable[[str], None] = print):
        self.server = server
        self.digest = digest
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.auth_key = auth_key
        self.wait_s = wait_s
        self.report = report
        self.ids: dict[str, int] = {}  # Flower cid -> our client id (authenticated)
        self.refused: set[str] = set()
        self.round_seconds: list[float] = []

    def __repr__(self) -> str:
        return f"OurStrategy({self.server.strategy.name}, {len(self.server.clients)} clients)"

    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        return ndarrays_to_parameters(self.server.global_params)

    def _identify(self, client_manager: ClientManager) -> dict[int, ClientProxy]:
        """Our client id of every connected client; with a key, only those that answer the challenge."""
        wanted = len(self.server.clients)
        deadline = time.monotonic() + self.wait_s
        while True:
            # a snapshot: Flower's gRPC threads add and remove clients in that dict while this loop runs
            present = dict(client_manager.all())
            for gone in [cid for cid in self.ids if cid not in present]:
                log.warning("client %d disconnected; waiting for it to join again", self.ids.pop(gone))
            for cid, proxy in present.items():
                if cid in self.ids or cid in self.refused:
                    continue
                nonce = secrets.token_hex(16)
                props = proxy.get_properties(GetPropertiesIns({"nonce": nonce}), timeout=60, group_id=None).properties
                k = int(props.get("client_id", -1))
                why = None
                if k not in self.server.clients:
                    why = f"client id {k} is not one of 0..{wanted - 1}"
                elif props.get("spec") != self.digest:
                    why = f"its settings (digest {props.get('spec')}) differ from the server's ({self.digest})"
                elif self.auth_key is not None and not hmac.compare_digest(str(props.get("auth", "")), auth_answer(self.auth_key, nonce, k)):
                    why = "it failed the authentication challenge (wrong or no key)"
                elif k in self.ids.values():
                    why = f"client id {k} is already connected"
                if why is not None:
                    self.refused.add(cid)
                    log.warning("refused a connecting client (%s): %s", cid, why)
                    continue
                self.ids[cid] = k
                self.report(f"[flower] client {k} joined ({len(self.ids)}/{wanted})")
            present = dict(client_manager.all())
            connected = {k: present[cid] for cid, k in self.ids.items() if cid in present}
            if len(connected) == wanted:
                return connected
            if time.monotonic() > deadline:
                raise TimeoutError(f"only clients {sorted(connected)} of 0..{wanted - 1} joined within {self.wait_s:g} s")
            client_manager.wait_for(len(client_manager.all()) + 1, timeout=1)

    def configure_fit(self, server_round: int, parameters: Parameters, client_manager: ClientManager) -> list[tuple[ClientProxy, FitIns]]:
        proxies = self._identify(client_manager)
        self._t0 = time.perf_counter()
        selected = self.server.begin_round()
        config: dict[str, Scalar] = {**self.server.client_config(), "spec": self.digest}
        fit_ins = FitIns(ndarrays_to_parameters(self.server.global_params), config)
        return [(proxies[k], fit_ins) for k in selected]

    def aggregate_fit(self, server_round: int, results, failures) -> tuple[Parameters | None, dict[str, Scalar]]:
        for proxy, res in sorted(results, key=lambda pr: self.ids[pr[0].cid]):
            self.server.submit(self.ids[proxy.cid], parameters_to_ndarrays(res.parameters), res.num_examples, dict(res.metrics))
        for failure in failures:
            log.warning("round %d: a client failed: %s", self.server.round + 1, failure)
        metrics = {key: float(np.mean([res.metrics[key] for _, res in results])) for key in ("reward", "success_rate")
                   if results and all(key in res.metrics for _, res in results)}
        record = self.server.end_round(metrics)
        if self.checkpoint_dir is not None:
            save_checkpoint(self.checkpoint_dir, self.server.round, {"server": self.server.state_dict()})
        seconds = time.perf_counter() - self._t0
        self.round_seconds.append(seconds)
        self.report(f"[flower] round {record.round}: clients {record.accepted} accepted, {len(record.rejected)} rejected, "
                    f"{len(failures)} failed, reward {metrics.get('reward', float('nan')):.3f}, "
                    f"{record.total_bytes / 1e6:.3f} MB, {seconds:.2f} s")
        return ndarrays_to_parameters(self.server.global_params), {"accepted": len(record.accepted)}

    def configure_evaluate(self, server_round: int, parameters: Parameters, client_manager: ClientManager):
        return []  # evaluation is slicebridge's own (evaluate / compare), not Flower's

    def aggregate_evaluate(self, server_round: int, results, failures):
        return None, {}

    def evaluate(self, server_round: int, parameters: Parameters):
        return None


def serve(cfg: EdgeConfig, fed: FederationSpec, rounds: int, address: str = "127.0.0.1:9092", run_dir: str | Path | None = None,
          resume: bool = True, certificates: tuple[bytes, bytes, bytes] | None = None, auth_key: bytes | None = None,
          wait_s: float = 300.0, report: Callable[[str], None] = print) -> FederatedServer:
    """Run the Flower server for ``rounds`` rounds in total (resumed ones included); returns our server.

    ``run_dir`` gets ``checkpoints/`` (every round), ``global_model.npz`` and ``history.json`` at the end.
    """
    server = make_server(cfg, fed)
    ckpt = Path(run_dir) / "checkpoints" if run_dir is not None else None
    if resume and ckpt is not None and (found := load_latest(ckpt)) is not None:
        server.load_state_dict(found[1]["server"])
        report(f"[flower] resumed after round {server.round} ({found[0]})")
    strategy = OurStrategy(server, spec_digest(cfg, fed), ckpt, auth_key, wait_s, report)
    remaining = rounds - server.round
    if remaining > 0:
        report(f"[flower] server on {address} ({'TLS' if certificates else 'no TLS'}"
               f"{', clients authenticated by key' if auth_key else ''}): {remaining} round(s), {fed.clients} clients, "
               f"strategy {fed.strategy}")
        flwr.server.start_server(server_address=address, config=flwr.server.ServerConfig(num_rounds=remaining),
                                 strategy=strategy, certificates=certificates)
    if run_dir is not None:
        out = Path(run_dir)
        np.savez(out / "global_model.npz", *server.global_params)
        (out / "history.json").write_text(json.dumps([r.to_dict() for r in server.history], indent=1))
    if strategy.round_seconds:
        report(f"[flower] done: {server.round} rounds, {np.median(strategy.round_seconds):.2f} s per round (median)")
    return server


def load_global_model(run_dir: str | Path) -> list[np.ndarray]:
    with np.load(Path(run_dir) / "global_model.npz") as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def quiet_flower(level: int = logging.ERROR) -> None:
    """Flower logs every message at INFO and a deprecation banner per process at WARNING (start_server and
    start_client are deprecated since Flower 1.13, see the module docstring): keep its errors only."""
    logging.getLogger("flwr").setLevel(level)
