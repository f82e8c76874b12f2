"""The federated server loop over plain arrays: selection, compression, accounting, checkpoints.

:class:`FederatedServer` is what both the array-level simulation (:func:`run_federated`) and the
lockstep SB3 trainer (``agents.lockstep``) drive. A round:

1. ``begin_round()`` — ``strategy.configure_round`` picks the clients; each is sent the global model
   (float32; counted as bytes down for that client);
2. clients train locally from the global weights;
3. ``submit(client, params, num_samples, metrics)`` — the update ``w_local − w_global`` is encoded
   with the codec (``none``/``fp16``/``int8``; counted as bytes up) and rebuilt on the server side;
4. ``end_round()`` — ``strategy.aggregate`` validates and combines; a :class:`RoundRecord` is kept.

``state_dict()`` holds everything needed to continue bit for bit: the strategy state (global
model), the selection generator's state, the round number, the selected clients, the open round
(if taken after ``begin_round`` and before any ``submit``) and the history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
from slicebridge.federation.checkpoint import load_latest, save_checkpoint
from slicebridge.federation.params import (
    CODECS,
    Params,
    compress_params,
    copy_params,
    params_nbytes,
)
from slicebridge.federation.strategies import FitRes, Strategy


@dataclass
class RoundRecord:
    round: int
    selected: list[int]
    accepted: list[int] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    bytes_down: dict[int, int] = field(default_factory=dict)
    bytes_up: dict[int, int] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return int(sum(self.bytes_down.values()) + sum(self.bytes_up.values()))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_bytes"] = self.total_bytes
        return out


class FederatedServer:
    def __init__(self, strategy: Strategy, clients: Sequence[int], seed: int = 0, codec: str = "none"):
        if codec not in CODECS:
            raise ValueError(f"unknown update codec {codec!r}; allowed: {list(CODECS)}")
        self.strategy = strategy
        self.clients = list(clients)
        self.codec = codec
        self.rng = np.random.default_rng(seed)
        self.round = 0  # rounds completed
        self.selected: list[int] = []
        self.history: list[RoundRecord] = []
        self._results: list[FitRes] = []
        self._current: RoundRecord | None = None

    @property
    def global_params(self) -> Params:
        if self.strategy.global_params is None:
            raise RuntimeError("the server has no global model yet: call initialize()")
        return self.strategy.global_params

    def initialize(self, params: Params) -> None:
        self.strategy.initialize(params)

    def begin_round(self) -> list[int]:
        """Select this round's clients; returns them (each is to receive ``global_params``)."""
        server_round = self.round + 1
        self.selected = self.strategy.configure_round(server_round, self.clients, self.rng)
        down = params_nbytes(self.global_params)
        self._current = RoundRecord(server_round, list(self.selected), bytes_down={c: down for c in self.selected})
        self._results = []
        return list(self.selected)

    def client_config(self) -> dict[str, Any]:
        return self.strategy.client_config(self.round + 1)

    def submit(self, client: int, params: Params, num_samples: int, metrics: dict[str, float] | None = None) -> None:
        if self._current is None:
            raise RuntimeError("submit() outside a round: call begin_round() first")
        if client not in self.selected:
            raise ValueError(f"client {client} was not selected for round {self._current.round}")
        received, nbytes = compress_params(params, self.global_params, self.codec)
        self._current.bytes_up[client] = nbytes
        self._results.append(FitRes(client, received, int(num_samples), dict(metrics or {})))

    def end_round(self, metrics: dict[str, float] | None = None) -> RoundRecord:
        if self._current is None:
            raise RuntimeError("end_round() without begin_round()")
        failures: list = []
        self.strategy.aggregate(self._results, failures)
        record = self._current
        record.rejected = [(int(c), str(r)) for c, r in failures]
        rejected_ids = {c for c, _ in record.rejected}
        record.accepted = [r.client_id for r in self._results if r.client_id not in rejected_ids]
        record.metrics.update(metrics or {})
        self.history.append(record)
        self.round = record.round
        self._current, self._results = None, []
        return record

    # -- checkpointing -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        if self._results:
            raise RuntimeError("checkpoint between rounds, or in a round before any client has submitted")
        return {
            "current": self._current.to_dict() if self._current is not None else None,
            "strategy": self.strategy.state_dict(),
            "rng": self.rng.bit_generator.state,
            "round": self.round,
            "selected": list(self.selected),
            "history": [r.to_dict() for r in self.history],
            "codec": self.codec,
            "clients": list(self.clients),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.rng.bit_generator.state = state["rng"]
        self.round = int(state["round"])
        self.selected = list(state["selected"])
        self.codec = state["codec"]
        self.clients = list(state["clients"])
        self.history = [_record(d) for d in state["history"]]
        self._current = _record(state["current"]) if state.get("current") is not None else None
        self._results = []


def _record(d: dict[str, Any]) -> RoundRecord:
    d = dict(d)
    d.pop("total_bytes", None)
    d["bytes_down"] = {int(k): v for k, v in d["bytes_down"].items()}
    d["bytes_up"] = {int(k): v for k, v in d["bytes_up"].items()}
    d["rejected"] = [tuple(x) for x in d["rejected"]]
    return RoundRecord(**d)


class Client(Protocol):
    """An array-level client for :func:`run_federated`."""

    def fit(self, params: Params, config: dict[str, Any]) -> tuple[Params, int, dict[str, float]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def run_federated(
    server: FederatedServer,
    clients: dict[int, Client],
    rounds: int,
    checkpoint_dir: str | Path | None = None,
    resume: bool = True,
    stop_after: int | None = None,
) -> list[RoundRecord]:
    """Run ``rounds`` rounds (in total, counting resumed ones); checkpoint after each.

    With ``resume`` and a checkpoint in ``checkpoint_dir``, the server and every client are restored
    and the run continues from the next round (a checkpoint that does not load is skipped for the
    previous one, see :func:`load_latest`). ``stop_after`` stops (as if interrupted) once that
    many rounds are complete — for tests.
    """
    if resume and checkpoint_dir is not None and (found := load_latest(checkpoint_dir)) is not None:
        state = found[1]
        server.load_state_dict(state["server"])
        for cid, cstate in state["clients"].items():
            clients[int(cid)].load_state_dict(cstate)
    while server.round < rounds:
        if stop_after is not None and server.round >= stop_after:
            break
        selected = server.begin_round()
        config = server.client_config()
        for cid in selected:
            params, n, metrics = clients[cid].fit(copy_params(server.global_params), config)
            server.submit(cid, params, n, metrics)
        server.end_round()
        if checkpoint_dir is not None:
            state = {"server": server.state_dict(), "clients": {cid: c.state_dict() for cid, c in clients.items()}}
            save_checkpoint(checkpoint_dir, server.round, state)
    return server.history
