# SPDX-License-Identifier: GPL-2.0-only
"""Tasks as Ray tasks: a local Ray instance by default, a cluster with ``address``.

Local (``address=None``): Ray is started for this process with ``num_cpus`` workers, no dashboard,
the node address 127.0.0.1 and its session files in a private temporary folder that is removed at
:meth:`RayExecutor.close` (not ``/tmp/ray``: ``sbray-*`` under ``temp_dir`` or TMPDIR, or under /tmp
when that path is too long for Ray's unix sockets); ``close`` shuts Ray down, so no Ray process outlives
the run. Ray 2.55's gRPC servers still bind the wildcard address: docs/DISTRIBUTED.md lists what
listens. Cluster (``address="auto"`` on a node of a running cluster, ``"HOST:6379"``, or
``"ray://HOST:10001"``): this process joins it as a driver; the cluster is left running.

Failures: Ray retries a task whose worker died or that raised, ``max_retries`` times; a task still
running after ``task_timeout_s`` is cancelled (its worker killed) and submitted again, within the
same bound. A task that fails every attempt is reported in :class:`~.executor.TaskFailures` with its
label, the node and worker process it last ran on and the error; the other tasks' results are kept
and handed to ``on_result`` as they finish.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Sequence

import ray
from ray.exceptions import GetTimeoutError, RayError, RayTaskError, TaskCancelledError

from slicebridge.distributed.executor import Failure, OnResult, Task, TaskFailures, here

#: how often the executor looks for finished and overdue tasks, seconds
POLL_S = 0.5


def _run(fn, args) -> tuple[Any, str]:
    return fn(*args), here()


@dataclass
class _Attempt:
    index: int
    number: int
    started: float


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 2,
                 task_timeout_s: float | None = None, temp_dir: str | os.PathLike | None = None):
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.address = address
        self.max_retries = int(max_retries)
        self.task_timeout_s = task_timeout_s
        self._temp: str | None = None
        self._owned = False
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # CPU tasks: leave device variables alone
        if ray.is_initialized():
            return  # a Ray the caller started: use it as it is, leave it running
        if address is None:
            self._temp = tempfile.mkdtemp(prefix="sbray-", dir=_short_parent(temp_dir))
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=self._temp,
                     log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        self._owned = True

    def run(self, tasks: Sequence[Task], on_result: OnResult | None = None) -> list[Any]:
        remote = ray.remote(_run).options(max_retries=self.max_retries, retry_exceptions=True)
        results: list[Any] = [None] * len(tasks)
        failures: list[Failure] = []
        pending: dict[Any, _Attempt] = {}

        def submit(i: int, number: int) -> None:
            pending[remote.remote(tasks[i].fn, tasks[i].args)] = _Attempt(i, number, time.monotonic())

        for i in range(len(tasks)):
            submit(i, 1)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
            for ref in ready:
                attempt = pending.pop(ref)
                try:
                    value, _where = ray.get(ref)
                except (RayError, GetTimeoutError) as exc:
                    # Ray has already retried it max_retries times (errors and dead workers alike)
                    failures.append(Failure(attempt.index, tasks[attempt.index].label, _where_failed(exc),
                                            _short_error(exc), attempt.number + self.max_retries))
                    continue
                results[attempt.index] = value
                if on_result is not None:
                    on_result(attempt.index, value)
            if self.task_timeout_s is not None:
                now = time.monotonic()
                for ref, attempt in list(pending.items()):
                    if now - attempt.started <= self.task_timeout_s:
                        continue
                    del pending[ref]
                    ray.cancel(ref, force=True)
                    label = tasks[attempt.index].label
                    if attempt.number <= self.max_retries:
                        submit(attempt.index, attempt.number + 1)
                    else:
                        failures.append(Failure(attempt.index, label, "a Ray worker (cancelled)",
                                                f"still running after {self.task_timeout_s:g} s (hung?)", attempt.number))
        if failures:
            raise TaskFailures(sorted(failures, key=lambda f: f.index), results)
        return results

    def close(self) -> None:
        if self._owned:
            ray.shutdown()
            self._owned = False
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Ray puts unix sockets at <temp>/session_<date>_<time>_<pid>/sockets/plasma_store: about 70 characters
#: below the folder, and a socket path may have at most 107
_MAX_TEMP_PARENT = 107 - 70 - len("/sbray-xxxxxxxx")


def _short_parent(wanted: str | os.PathLike | None) -> str:
    """``wanted`` (default: TMPDIR) when Ray's socket paths under it fit, else /tmp."""
    parent = os.fspath(wanted) if wanted is not None else tempfile.gettempdir()
    return parent if len(parent) <= _MAX_TEMP_PARENT else "/tmp"


def _where_failed(exc: BaseException) -> str:
    found = re.search(r"\(pid=(\d+), ip=([^)\s]+)", str(exc))  # RayTaskError's header; its dual type hides .ip
    if found:
        return f"{found.group(2)} pid {found.group(1)}"
    if isinstance(exc, TaskCancelledError):
        return "a Ray worker (cancelled)"
    return "a Ray worker"


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, RayTaskError):
        cause = exc.__dict__.get("cause")
        return f"{type(cause).__name__}: {cause}" if cause is not None else str(exc).splitlines()[-1]
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
