"""An import file read, checked and made into rows — in a second process for a large one.

Reading a record (strict UTF-8, JSON, every field checked) and making its row (two
SHA-256, JSON columns) is ~40 % of an import's time, all of it Python; the rest is the
store's transaction. A large file is therefore read by a child process (`python -m
tui.import_reader`) that sends prepared rows (`store.ingest.Prepared`: plain tuples,
cheap to pickle) down a pipe, while this process writes the batches before. The pipe
holds a few batches (`PIPE_BYTES`), so the reader never runs far ahead and memory stays
flat.

Small files and stdin are read here: starting the child costs ~90 ms. The child
ignores Ctrl-C (the parent stops it) and ends on its own when the pipe closes.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from providers.base import Stakes
from providers.files import Rejected, read_fields
from store.ingest import Prepared, prepare_fields

WORKER_MIN_BYTES = 2 * 1024 * 1024
"""Files at least this large are read by the child (~10k short records; under ~0.25 s
of reading, the child's start would eat what it saves)."""


class ReaderError(RuntimeError):
    """The child reading the file stopped without finishing (a bug, or it was killed)."""


@dataclass(slots=True)
class Chunk:
    """A batch of prepared rows and the records refused since the one before."""

    rows: list[Prepared] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """A checked file argument: its display name, format and default source."""

    arg: str
    """A file path, or `-` for stdin (always read in this process)."""
    fmt: str
    source: str


@dataclass(frozen=True, slots=True)
class ReadSpec:
    """What to read and how: everything the child needs, as plain values."""

    plan: ImportPlan
    stakes: Stakes
    """For records that name none."""
    batch_size: int


@contextmanager
def chunks(
    spec: ReadSpec, on_progress: Callable[[int], None] | None = None
) -> Iterator[Iterator[Chunk]]:
    """The file's chunks, read here or by the child; leaving the block stops the child."""
    if spec.plan.arg == "-" or Path(spec.plan.arg).stat().st_size < WORKER_MIN_BYTES:
        yield _read_here(spec, on_progress)
        return
    with _child(spec) as child:
        yield _received(child, spec, on_progress)


def _read(
    stream: IO[bytes], spec: ReadSpec, on_progress: Callable[[int], None] | None
) -> Iterator[Chunk]:
    chunk = Chunk()
    for record in read_fields(
        stream,
        spec.plan.fmt,
        default_source=spec.plan.source,
        default_stakes=spec.stakes,
        on_progress=on_progress,
    ):
        if isinstance(record, Rejected):
            chunk.rejected.append(record)
            continue
        chunk.rows.append(prepare_fields(record[1]))
        if len(chunk.rows) >= spec.batch_size:
            yield chunk
            chunk = Chunk()
    if chunk.rows or chunk.rejected:
        yield chunk


def _read_here(spec: ReadSpec, on_progress: Callable[[int], None] | None) -> Iterator[Chunk]:
    """The chunks read in this process (the file is opened at the first one)."""
    if spec.plan.arg == "-":
        yield from _read(sys.stdin.buffer, spec, on_progress)
        return
    with open(spec.plan.arg, "rb") as stream:
        yield from _read(stream, spec, on_progress)


@dataclass(frozen=True, slots=True)
class _Child:
    process: subprocess.Popen[bytes]
    pipe: IO[bytes]
    errors: IO[bytes]
    """Its stderr: a file, not the terminal, and not a pipe nobody reads meanwhile."""

    def last_error(self) -> str:
        """The last line the child wrote to stderr (a traceback's exception), if any."""
        self.errors.seek(0)
        lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""


@contextmanager
def _child(spec: ReadSpec) -> Iterator[_Child | None]:
    """The reading process, or None if it cannot be started (then the parent reads)."""
    plan = spec.plan
    args = json.dumps([plan.arg, plan.fmt, plan.source, spec.stakes, spec.batch_size])
    # The child imports signoff from where this process did (a source checkout run
    # without installing too), and -P keeps the user's working folder off its path:
    # a `store.py` there must not replace signoff's.
    home = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [home, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    )}  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                [sys.executable, "-P", "-m", "tui.import_reader", args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
            )
        except OSError:
            yield None
            return
        assert process.stdout is not None
        _widen(process.stdout)
        try:
            yield _Child(process, process.stdout, errors)
        finally:
            if process.poll() is None:
                process.kill()
            process.stdout.close()
            process.wait()


PIPE_BYTES = 1024 * 1024
"""The pipe's buffer on Linux (64 KB by default, less than a batch): a reader up to ~8
batches ahead, so a slow batch on either side does not stall the other."""


def _widen(pipe: IO[bytes]) -> None:
    """Ask for a `PIPE_BYTES` buffer (Linux only; elsewhere, or refused, the default)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _received(
    child: _Child | None, spec: ReadSpec, on_progress: Callable[[int], None] | None
) -> Iterator[Chunk]:
    if child is None:  # no second process here: read in this one
        yield from _read_here(spec, on_progress)
        return
    started = False
    while True:
        try:
            message: tuple[Any, ...] = pickle.load(child.pipe)  # our own child: trusted
        except (EOFError, pickle.UnpicklingError):
            code = child.process.wait()
            if not started and code != 0:
                # It failed before reading anything (a Python that cannot run it, say):
                # nothing was stored from it, so reading here gives the same import.
                yield from _read_here(spec, on_progress)
                return
            why = child.last_error()
            raise ReaderError(
                f"the reading process stopped (exit status {code}{': ' + why if why else ''})"
            ) from None
        started = True
        kind = message[0]
        if kind == "chunk":
            _, rows, rejected, done = message
            if on_progress is not None:
                on_progress(done)
            yield Chunk(rows, rejected)
        elif kind == "end":
            return
        elif kind == "oserror":
            _, errno, strerror, filename = message
            raise OSError(errno, strerror, filename)
        else:
            raise ReaderError(f"the reading process failed: {message[1]}")


def main() -> None:
    """The child: read the file named in argv[1] and pickle its chunks to stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    path, fmt, source, stakes, batch_size = json.loads(sys.argv[1])
    spec = ReadSpec(ImportPlan(path, fmt, source), stakes, batch_size)
    out = sys.stdout.buffer
    done = 0

    def seen(count: int) -> None:
        nonlocal done
        done = count

    def send(*message: Any) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        with open(path, "rb") as stream:
            for chunk in _read(stream, spec, seen):
                send("chunk", chunk.rows, chunk.rejected, done)
        send("end")
    except BrokenPipeError:
        return  # the parent stopped reading (interrupted, or failed): nothing to say
    except OSError as error:
        send("oserror", error.errno, error.strerror, error.filename)
    except Exception as error:
        send("crash", f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
