# SPDX-License-Identifier: GPL-2.0-only
"""One fan-out code path: a list of :class:`Task` run by an executor, sequentially or on Ray.

``evaluate`` and ``compare`` (and the recipes through ``evaluate``) describe their simulation runs as
tasks — a picklable function and its arguments, labelled for reports — and hand them to an executor:

- :class:`SequentialExecutor` runs them one after the other in this process (the default);
- ``RayExecutor`` (:mod:`slicebridge.distributed.ray_executor`, optional extra) runs them as Ray tasks
  on a local Ray instance or a cluster, retrying a failed or hung task a bounded number of times.

Both return the results in task order and call ``on_result(index, value)`` as each task finishes, so
the caller writes partial results as they come. A task that still fails is never dropped silently:
the executor finishes the other tasks, then raises :class:`TaskFailures` naming every failed task,
where it ran and why. Results are the same whichever executor runs the tasks (same functions, same
arguments, same seeds).
"""

from __future__ import annotations

import os
import socket
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from slicebridge.distributed import EXTRA_HINT


@dataclass(frozen=True)
class Task:
    """``fn(*args)``; ``label`` names the run in progress output and failure reports."""

    label: str
    fn: Callable[..., Any]
    args: tuple = ()


@dataclass
class Failure:
    """A task that failed after its retries: its index, label, where it last ran and the error."""

    index: int
    label: str
    where: str
    error: str
    attempts: int = 1


class TaskFailures(RuntimeError):
    """Some tasks failed; ``results[i]`` is None for each of them, the others are complete."""

    def __init__(self, failures: list[Failure], results: list[Any]):
        self.failures = failures
        self.results = results
        done = sum(r is not None for r in results)
        lines = [f"{len(failures)} of {len(results)} task(s) failed ({done} completed, their results are kept):"]
        lines += [f"  - {f.label}: on {f.where}, after {f.attempts} attempt(s): {f.error}" for f in failures]
        super().__init__("\n".join(lines))


class MissingExtraError(RuntimeError):
    """Ray or Flower asked for without the optional extra installed."""

    def __init__(self, what: str, module: str):
        super().__init__(f"{what} needs the optional package {module!r}, which is not installed: {EXTRA_HINT}")


def here() -> str:
    """Where this code runs, for failure reports: ``host pid N``."""
    return f"{socket.gethostname()} pid {os.getpid()}"


OnResult = Callable[[int, Any], None]


class Executor(Protocol):
    name: str

    def run(self, tasks: Sequence[Task], on_result: OnResult | None = None) -> list[Any]:
        """Every task's result in task order; raises :class:`TaskFailures` if any task failed."""
        ...

    def close(self) -> None: ...


@dataclass
class SequentialExecutor:
    """Runs the tasks in order in this process; a failing task is reported and the rest still run."""

    name: str = field(default="sequential", init=False)

    def run(self, tasks: Sequence[Task], on_result: OnResult | None = None) -> list[Any]:
        results: list[Any] = [None] * len(tasks)
        failures: list[Failure] = []
        for i, task in enumerate(tasks):
            try:
                results[i] = task.fn(*task.args)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - reported with the task's label, never lost
                failures.append(Failure(i, task.label, here(), _describe(exc)))
                continue
            if on_result is not None:
                on_result(i, results[i])
        if failures:
            raise TaskFailures(failures, results)
        return results

    def close(self) -> None:
        pass


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{at}"


def make_executor(ray: bool = False, ray_address: str | None = None, **options: Any) -> Executor:
    """Sequential unless ``ray`` or a ``ray_address`` is given (then Ray: local when the address is
    None, else that cluster, e.g. ``"auto"`` or ``"ray://head:10001"``). ``options`` go to
    ``RayExecutor`` (``num_cpus``, ``max_retries``, ``task_timeout_s``, ``temp_dir``)."""
    if not ray and ray_address is None:
        return SequentialExecutor()
    try:
        from slicebridge.distributed.ray_executor import RayExecutor
    except ImportError as exc:
        if exc.name not in (None, "ray") and not str(exc.name).startswith("ray."):
            raise
        raise MissingExtraError("--ray / --ray-address", "ray") from None
    return RayExecutor(address=ray_address, **options)
