# SPDX-License-Identifier: GPL-2.0-only
"""The ns-3 programs' launcher: find, build, run and reap, for the live backend and offline runs alike.

The C++ side is built with CMake against the ns-3 of the PyPI wheel ``ns3``::

    cmake -S . -B build && cmake --build build -j2

which leaves the programs in ``build/ns3_scenarios/``: ``slicebridge-lte`` (the LTE scenario),
``slicebridge-nr`` (the NR scenario, only when CMake found a 5G-LENA build: docs/NR.md) and
``slicebridge-gym-echo`` (the wire's C++ end without a simulation). ``$SLICEBRIDGE_NS3_BINARY``
points at another build of ``slicebridge-lte``; the other programs are looked up next to it.

:class:`Ns3Process` is one run: its own process group (a terminal's Ctrl-C reaches Python, which
ends the run), stdout and stderr in one temporary file whose tail goes into error messages, and
:meth:`Ns3Process.stop` / :meth:`Ns3Process.kill`, which always reap. Every error here is an
:class:`Ns3Error`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / "build"
PROGRAM = "slicebridge-lte"
NR_PROGRAM = "slicebridge-nr"
# the scenario program of each radio.technology
PROGRAMS = {"lte": PROGRAM, "nr": NR_PROGRAM}
NR_BUILD_REMEDY = ("slicebridge-nr is built only against an ns-3 with the nr module (5G-LENA): run "
                   "`scripts/build-nr.sh <5G-LENA 4.0 source tree> [prefix]`, then `cmake -S . -B build "
                   "-DNS3_NR_DIR=<prefix> && cmake --build build -j2` (docs/NR.md)")
ECHO_PROGRAM = "slicebridge-gym-echo"
ENV_BINARY = "SLICEBRIDGE_NS3_BINARY"
BUILD_COMMAND = "cmake -S . -B build && cmake --build build -j2"
OUTPUT_TAIL_LINES = 25
RUN_DIR_PREFIX = "slicebridge-ns3-"


class Ns3Error(RuntimeError):
    """An ns-3 program is missing, failed to build, died, hung, or broke the protocol."""


class Ns3BuildError(Ns3Error):
    """The ns-3 program is missing or could not be built."""


def find_program(binary: str | Path | None = None, name: str = PROGRAM) -> Path:
    """The built program ``name``: ``binary`` when given; else, with ``$SLICEBRIDGE_NS3_BINARY`` set,
    that file (for ``slicebridge-lte``) or its sibling ``name``; else ``build/ns3_scenarios/<name>``."""
    env = os.environ.get(ENV_BINARY)
    if binary is not None:
        candidates = [Path(binary)]
    elif env and name == PROGRAM:
        candidates = [Path(env)]
    else:
        candidates = ([Path(env).with_name(name)] if env else []) + [BUILD_DIR / "ns3_scenarios" / name]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    if name == NR_PROGRAM:
        raise Ns3BuildError(f"the ns-3 program {name} is not built (looked at {', '.join(map(str, candidates))}); "
                            f"{NR_BUILD_REMEDY}")
    raise Ns3BuildError(
        f"the ns-3 program {name} is not built (looked at {', '.join(map(str, candidates))}); build it in "
        f"{REPO_ROOT} with `{BUILD_COMMAND}` (needs `pip install --no-deps ns3==3.44.post0` and `apt-get install "
        f"libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev`), or set ${ENV_BINARY}"
    )


def program_for(technology: str) -> str:
    """The scenario program that simulates ``radio.technology`` (``lte`` or ``nr``)."""
    try:
        return PROGRAMS[technology]
    except KeyError:
        raise ValueError(f"no ns-3 program for radio.technology {technology!r}; known: {', '.join(PROGRAMS)}") from None


def build(jobs: int = 2, build_dir: Path | None = None, timeout_s: float = 1800.0, targets: Sequence[str] = ()) -> Path:
    """Configure (when needed) and build ``targets`` (default: every program) with CMake; returns the
    ``slicebridge-lte`` path. Raises :class:`Ns3BuildError` with the tail of CMake's output when a step fails."""
    build_dir = Path(build_dir) if build_dir is not None else BUILD_DIR
    steps = []
    if not (build_dir / "CMakeCache.txt").is_file():
        steps.append(["cmake", "-S", str(REPO_ROOT), "-B", str(build_dir), f"-DPython3_EXECUTABLE={sys.executable}"])
    steps.append(["cmake", "--build", str(build_dir), "-j", str(jobs), *(["--target", *targets] if targets else [])])
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except FileNotFoundError:
            raise Ns3BuildError(f"cmake is not installed (apt-get install cmake); then run `{BUILD_COMMAND}`") from None
        except subprocess.TimeoutExpired:
            raise Ns3BuildError(f"`{' '.join(cmd)}` took more than {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
            raise Ns3BuildError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return build_dir / "ns3_scenarios" / PROGRAM


def make_run_dir() -> Path:
    """A new private temporary folder for runtime JSON files and run output, named
    ``slicebridge-ns3-<pid>-*`` after this process. Folders of processes that no longer exist (killed
    before they could clean up, e.g. by SIGKILL) are removed first. The caller removes its own."""
    tmp = Path(tempfile.gettempdir())
    for stale in tmp.glob(f"{RUN_DIR_PREFIX}*-*"):
        pid = stale.name[len(RUN_DIR_PREFIX):].split("-", 1)[0]
        try:
            mine = stale.is_dir() and stale.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


class Ns3Process:
    """One run of an ns-3 program ``cmd`` (program path first), output kept in ``log_dir``.

    The run has its own process group; :meth:`stop` and :meth:`kill` signal the whole group and
    reap it, and free the output file. Both are idempotent.
    """

    def __init__(self, cmd: Sequence[str | Path], log_dir: str | Path | None = None):
        self.args = [str(c) for c in cmd]
        self._log: IO[bytes] = tempfile.TemporaryFile(dir=log_dir, prefix=f"{Path(self.args[0]).name}-", suffix=".log")
        try:
            self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                            close_fds=True, start_new_session=True)
        except BaseException:
            self._log.close()
            raise
        self._released = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def command(self) -> str:
        return " ".join(self.args)

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout_s: float | None = None) -> int | None:
        """Exit code, or None when the run is still going after ``timeout_s`` seconds."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def tail(self, lines: int = OUTPUT_TAIL_LINES) -> str:
        """The last ``lines`` lines of the run's output (stdout and stderr)."""
        try:
            self._log.flush()
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - 16384))
            text = self._log.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return "<output unavailable>"
        return "\n".join(text.splitlines()[-lines:]) or "<no output>"

    def describe_exit(self) -> str:
        code = self.process.returncode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name} (exit code {code})"
            except ValueError:
                pass
        return f"exit code {code}"

    def _signal(self, sig: signal.Signals) -> None:
        if self.process.poll() is None:  # not reaped yet, so the group id is still this run's
            try:
                os.killpg(self.process.pid, sig)
            except (ProcessLookupError, PermissionError):
                self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the run's process group and reap it (the output file stays readable)."""
        self._signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, grace_s: float = 2.0) -> None:
        """End the run: SIGTERM, then SIGKILL after ``grace_s`` seconds; reap it; free the output file."""
        if self._released:
            return
        self._released = True
        try:
            if self.process.poll() is None:
                self._signal(signal.SIGTERM)
                if self.wait(grace_s) is None:
                    self.kill()
            self.process.wait()
        finally:
            try:
                self._log.close()
            except OSError:
                pass
