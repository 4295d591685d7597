"""`kill -USR1 <pid>`: where every asyncio task of the process is waiting, to the log.

py-spy and friends show threads, not coroutines: a worker whose reloads hung in a peer's close
(docs/BENCHMARKS.md) looked merely idle to them. Tasks waiting at the same place are counted
together, so 3,321 site monitors make a few lines, not thousands.
"""

import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)
FRAMES = 12
GROUPS = 20


def where(task: asyncio.Task[object]) -> str:
    """The task's name without its number, and the awaits it is suspended in, outermost first
    (`Task.get_stack` gives only the outermost frame of a suspended coroutine)."""
    places: list[str] = []
    awaiting: Any = task.get_coro()
    while awaiting is not None and len(places) < FRAMES:
        frame = getattr(awaiting, "cr_frame", None) or getattr(awaiting, "gi_frame", None)
        if frame is not None:
            file = frame.f_code.co_filename.rsplit("/", 1)[-1]
            places.append(f"{frame.f_code.co_name} ({file}:{frame.f_lineno})")
        awaiting = getattr(awaiting, "cr_await", None) or getattr(awaiting, "gi_yieldfrom", None)
    name = task.get_name().rstrip("0123456789- ")
    return f"{'' if name == 'Task' else name + ': '}{' > '.join(places) or 'not started'}"


def dump() -> None:
    places = Counter(where(task) for task in asyncio.all_tasks())
    log.warning(
        "asyncio tasks, by where they wait",
        extra={
            "tasks": places.total(),
            "places": [f"{count} x {place}" for place, count in places.most_common(GROUPS)],
        },
    )


@contextmanager
def on_sigusr1() -> Iterator[None]:
    """For as long as the block runs (the service's lifespan). Signals reach only a loop in the
    main thread: elsewhere (an app run in a thread) there is simply no dump."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGUSR1, dump)
    except (RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
