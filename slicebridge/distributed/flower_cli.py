# SPDX-License-Identifier: GPL-2.0-only
"""``slicebridge flower server|client|local``: the federation on Flower from the command line.

- ``local``: one server and ``--clients`` client processes on this machine over 127.0.0.1 (a free port);
  the server's progress is shown, every process is reaped at the end or on Ctrl-C.
- ``server`` / ``client``: one process each, for several hosts (docs/DISTRIBUTED.md). The server binds
  127.0.0.1 unless ``--address`` names another interface; a non-loopback address needs TLS
  (``--cert``/``--key``/``--ca-cert``) or an explicit ``--insecure``.

Server and clients must be given the same scenario, agent and federation options (checked: a client
whose settings differ is refused, naming both digests). This module imports Flower only when a
command runs, so without the optional extra it prints the one line that says how to install it.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import traceback
from pathlib import Path

from slicebridge.distributed import EXTRA_HINT
from slicebridge.distributed.edge import EdgeConfig, FederationSpec
from slicebridge.federation.params import CODECS, DEFAULT_NORM_FACTOR


class FlowerUsageError(Exception):
    """A misuse the user can fix (printed as one line, exit code 2)."""


def add_spec_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("federation settings (the same on the server and every client)")
    g.add_argument("--scenario", default="tiny", help="shipped scenario name or YAML path (each client simulates it)")
    g.add_argument("--simulator", choices=["litesim", "ns3"], default="litesim")
    g.add_argument("--algo", choices=["ppo", "sac", "td3", "ddpg", "dqn"], default="ppo")
    g.add_argument("--num-envs", type=int, default=EdgeConfig.num_envs, help="scenario instances per client")
    g.add_argument("--local-steps", type=int, default=EdgeConfig.local_steps, help="decision steps per round")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--clients", type=int, default=FederationSpec.clients)
    g.add_argument("--strategy", default="fedavg", help="fedavg, fedprox, success, uniform, median, trimmed_mean")
    g.add_argument("--fraction-fit", type=float, default=1.0)
    g.add_argument("--proximal-mu", type=float, default=FederationSpec.proximal_mu)
    g.add_argument("--trim-fraction", type=float, default=FederationSpec.trim_fraction)
    g.add_argument("--max-update-norm", type=float, default=None)
    g.add_argument("--update-norm-factor", type=float, default=DEFAULT_NORM_FACTOR, help="0 switches the adaptive bound off")
    g.add_argument("--codec", choices=list(CODECS), default="none")


SPEC_FLAGS = ("scenario", "simulator", "algo", "num_envs", "local_steps", "seed", "clients", "strategy", "fraction_fit",
              "proximal_mu", "trim_fraction", "max_update_norm", "update_norm_factor", "codec")


def spec_of(args: argparse.Namespace) -> tuple[EdgeConfig, FederationSpec]:
    cfg = EdgeConfig(scenario=args.scenario, simulator=args.simulator, algorithm=args.algo, num_envs=args.num_envs,
                     local_steps=args.local_steps, seed=args.seed)
    fed = FederationSpec(clients=args.clients, strategy=args.strategy, fraction_fit=args.fraction_fit, proximal_mu=args.proximal_mu,
                         trim_fraction=args.trim_fraction, max_update_norm=args.max_update_norm,
                         norm_factor=args.update_norm_factor or None, codec=args.codec)
    return cfg, fed


def spec_argv(args: argparse.Namespace) -> list[str]:
    """The settings as flags again, to start the processes of ``local`` with exactly these."""
    out = []
    for name in SPEC_FLAGS:
        value = getattr(args, name)
        if value is not None:
            out += ["--" + name.replace("_", "-"), str(value)]
    return out


def _security_options(p: argparse.ArgumentParser, server: bool) -> None:
    g = p.add_argument_group("security (docs/DISTRIBUTED.md: how to make the certificates and the key)")
    g.add_argument("--ca-cert", help="TLS: the CA certificate (PEM)" + ("" if server else " that signed the server's"))
    if server:
        g.add_argument("--cert", help="TLS: the server's certificate (PEM), signed by the CA, naming the server's address")
        g.add_argument("--key", help="TLS: the server's private key (PEM)")
    g.add_argument("--auth-key-file", help="pre-shared key: only clients that prove they hold it (HMAC challenge) take part")


def _security_argv(args: argparse.Namespace, server: bool) -> list[str]:
    names = ("ca_cert", "cert", "key", "auth_key_file") if server else ("ca_cert", "auth_key_file")
    out = []
    for name in names:
        if getattr(args, name, None):
            out += ["--" + name.replace("_", "-"), str(Path(getattr(args, name)).resolve())]
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slicebridge flower", description="Federated training with each client on Flower (docs/DISTRIBUTED.md)")
    sub = p.add_subparsers(dest="role", required=True)

    lo = sub.add_parser("local", help="one server and --clients client processes on this machine over 127.0.0.1")
    add_spec_options(lo)
    lo.add_argument("--rounds", type=int, default=3)
    lo.add_argument("--out", default="runs/flower", help="run directory (server and client checkpoints, global_model.npz, history.json)")
    lo.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    _security_options(lo, server=True)

    sv = sub.add_parser("server", help="the Flower server running our strategy")
    add_spec_options(sv)
    sv.add_argument("--rounds", type=int, default=3, help="rounds in total (a resumed run counts the ones done)")
    sv.add_argument("--address", default="127.0.0.1:9092", help="HOST:PORT to listen on (default loopback)")
    sv.add_argument("--out", default="runs/flower")
    sv.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    sv.add_argument("--wait", type=float, default=300.0, help="seconds to wait for all clients to join")
    _security_options(sv, server=True)
    sv.add_argument("--insecure", action="store_true", help="allow a non-loopback --address without TLS (trusted network only)")

    cl = sub.add_parser("client", help="one edge server: its simulator and agent, trained when the server selects it")
    add_spec_options(cl)
    cl.add_argument("--client-id", type=int, required=True, help="0 .. clients-1, unique")
    cl.add_argument("--server", default="127.0.0.1:9092", help="the server's HOST:PORT")
    cl.add_argument("--out", default=None, help="run directory: checkpoints go to OUT/client_ID (default: none)")
    _security_options(cl, server=False)
    cl.add_argument("--wait", type=float, default=120.0, help="seconds to keep trying to reach the server")
    return p


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_local(args: argparse.Namespace, extra_env: dict[str, str] | None = None) -> int:
    """Start the server and the clients as child processes over 127.0.0.1; reap them all."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    base = [sys.executable, "-m", "slicebridge.app.cli", "flower"]
    spec = spec_argv(args)
    env = {**os.environ, **(extra_env or {})}
    server = subprocess.Popen(base + ["server", *spec, "--rounds", str(args.rounds), "--address", address, "--out", str(out),
                                      "--resume" if args.resume else "--no-resume", *_security_argv(args, True)], env=env)
    clients = [subprocess.Popen(base + ["client", *spec, "--client-id", str(k), "--server", address, "--out", str(out),
                                        *_security_argv(args, False)], env=env) for k in range(args.clients)]
    procs = [server, *clients]
    try:
        code = server.wait()
        for c in clients:  # the server tells them to disconnect at the end; they exit on their own
            c.wait(timeout=60)
        bad = [k for k, c in enumerate(clients) if c.returncode != 0]
        if code == 0 and bad:
            print(f"slicebridge flower local: client(s) {bad} exited with an error", file=sys.stderr)
            return 1
        return code
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


MISSING = f"slicebridge flower needs the optional package 'flwr', which is not installed: {EXTRA_HINT}"


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.role == "local":
        if sys.modules.get("flwr", True) is None or importlib.util.find_spec("flwr") is None:
            raise FlowerUsageError(MISSING)
        return run_local(args)
    try:
        from slicebridge.distributed import flower
    except ImportError as exc:
        if exc.name is not None and not exc.name.startswith(("flwr", "ray")):
            raise
        raise FlowerUsageError(MISSING) from None
    flower.quiet_flower()
    cfg, fed = spec_of(args)
    auth_key = _read(args.auth_key_file)
    if args.role == "server":
        tls = (args.ca_cert, args.cert, args.key)
        if any(tls) and not all(tls):
            raise FlowerUsageError("flower server: TLS needs all three of --ca-cert, --cert and --key")
        if not _is_loopback(args.address) and not all(tls) and not args.insecure:
            raise FlowerUsageError(f"flower server: --address {args.address} is reachable from other hosts; give TLS "
                                   "(--ca-cert --cert --key, docs/DISTRIBUTED.md) or --insecure on a trusted network")
        certificates = tuple(_read(p) for p in tls) if all(tls) else None
        try:
            flower.serve(cfg, fed, args.rounds, args.address, args.out, args.resume, certificates, auth_key, args.wait)
        except BaseException as exc:
            # Flower's start_server leaves its gRPC server running when the strategy raises, and that server's
            # worker threads (blocked on the clients' streams) would keep this process alive at exit for ever.
            what = str(exc) if isinstance(exc, TimeoutError) else "".join(traceback.format_exception(exc)).rstrip()
            print(f"slicebridge flower server: {what}\nthe checkpoints of the rounds done are in {args.out}",
                  file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(1)
        return 0
    checkpoints = Path(args.out) / f"client_{args.client_id}" if args.out else None
    try:
        flower.run_client(cfg, fed, args.client_id, args.server, checkpoints, _read(args.ca_cert), auth_key, args.wait)
    except ConnectionError as exc:
        print(f"slicebridge flower client {args.client_id}: {exc}", file=sys.stderr)
        return 1
    return 0
