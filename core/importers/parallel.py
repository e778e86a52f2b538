"""Decoding an import's files in worker processes, as many as the machine's cores and
the import's memory budget allow, with the results in the order the files came.

Each worker decodes one file at a time, and a decode never allocates more than the
decode budget (``core.imaging.decode``), so the workers' peak is about
``workers x (decode budget + a worker's own size)``; the workers are chosen to keep
that within ``$SEVERITY_IMPORT_MEMORY_MB`` (default 2 GB). Workers are started fresh
(``spawn``): the importer may run in a threaded process (Streamlit, the worker), which
must not be forked. Only a few chunks of files are handed out ahead, so an import that
stops (a full disk) waits for those, not for the whole folder.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

from core.imaging.decode import decode_budget

IMPORT_WORKERS_ENV = "SEVERITY_IMPORT_WORKERS"  # a fixed number of decoding processes
IMPORT_MEMORY_ENV = "SEVERITY_IMPORT_MEMORY_MB"
DEFAULT_IMPORT_MEMORY_MB = 2048
WORKER_BASE_MB = 200  # one decoding process before its first image (Python, NumPy, Pillow)
MAIN_BASE_MB = 400  # the importing process itself (the store, the report of every file)
PARALLEL_FROM = 200  # files: below this, starting processes costs more than it saves
CHUNK = 16  # files a worker takes at a time
CHUNKS_AHEAD = 3  # chunks handed out per worker before their results are read
# a chunk not back after this long was lost with its process (killed for memory, say):
# its files would never come, so the import stops instead of waiting forever
CHUNK_TIMEOUT_S = 600.0


class DecodingStopped(RuntimeError):
    """A decoding process did not give back its files (it was killed, say, by the
    system for want of memory). The import stops; what it stored is kept."""


Task = TypeVar("Task")
Result = TypeVar("Result")


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def import_workers(files: int) -> int:
    """Decoding processes for an import of ``files`` files: 0 (decode here) for a small
    import or a single core, else one per core within the memory budget."""
    configured = os.environ.get(IMPORT_WORKERS_ENV)
    if configured is not None:
        return max(0, int(configured))
    if files < PARALLEL_FROM:
        return 0
    budget_mb = float(os.environ.get(IMPORT_MEMORY_ENV, DEFAULT_IMPORT_MEMORY_MB))
    per_worker_mb = decode_budget() / 2**20 + WORKER_BASE_MB
    fit = int((budget_mb - MAIN_BASE_MB) // per_worker_mb)
    workers = min(available_cores(), fit)
    return workers if workers >= 2 else 0


def _run_chunk(work: Callable[[Task], Result], chunk: list[Task]) -> list[Result]:
    return [work(task) for task in chunk]


def in_order(
    work: Callable[[Task], Result], tasks: Sequence[Task], workers: int
) -> Generator[Result, None, None]:
    """``work(task)`` for each task, in order: here with ``workers`` 0, else in that
    many processes. ``work`` must be a module-level function that catches its own
    errors (an exception from it stops the import). Leaving the iterator early waits
    for the chunks already handed out, then stops the processes."""
    if workers <= 0:
        yield from map(work, tasks)
        return
    chunks = [list(tasks[k : k + CHUNK]) for k in range(0, len(tasks), CHUNK)]
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(workers)
    try:
        waiting: deque = deque()
        upcoming = iter(chunks)
        for chunk in upcoming:
            waiting.append(pool.apply_async(_run_chunk, (work, chunk)))
            if len(waiting) >= workers * CHUNKS_AHEAD:
                break
        while waiting:
            try:
                results = waiting.popleft().get(timeout=CHUNK_TIMEOUT_S)
            except multiprocessing.TimeoutError:
                raise DecodingStopped(
                    f"A decoding process gave no answer for {CHUNK_TIMEOUT_S:.0f} s (it may "
                    "have been stopped for want of memory): the import stopped. What was "
                    "stored is kept; import again to continue, with fewer decoding processes "
                    f"(${IMPORT_WORKERS_ENV}) if it happens again."
                ) from None
            chunk = next(upcoming, [])
            if chunk:
                waiting.append(pool.apply_async(_run_chunk, (work, chunk)))
            yield from results
    except DecodingStopped:
        pool.terminate()
        raise
    finally:
        pool.close()  # no new chunks; the ones handed out finish (no half-written file)
        pool.join()
