"""Clean-up with a hard deadline: closing peers and stopping site monitors, at any scale.

`asyncio.wait_for` cancels late work and then waits for it to finish. Work that swallows the
cancellation makes that wait as long as the work itself, or endless: aioice's `close()` does,
awaiting its consent task inside `except CancelledError`. A reload that stopped 1,660 sites
hung that way for good in a 3,321-site run (docs/BENCHMARKS.md). `clean_up_within` returns at
the deadline whatever the work does; late work is cancelled and left to end on its own.
"""

import asyncio
from collections.abc import Awaitable
from typing import Any

# Work still running after its deadline (or after its waiter was cancelled): referenced here so
# it is not garbage-collected half-way, forgotten when it ends.
_unfinished: set[asyncio.Future[Any]] = set()


async def clean_up_within(seconds: float, *work: Awaitable[Any]) -> bool:
    """Run `work` together for at most `seconds`; True if all of it ended in time. Errors of
    the work are not raised (clean-up is best effort); a caller that is cancelled while it
    waits leaves the work running."""
    tasks = [asyncio.ensure_future(item) for item in work]
    for task in tasks:
        _unfinished.add(task)
        task.add_done_callback(_forget)
    if not tasks:
        return True
    _, late = await asyncio.wait(tasks, timeout=seconds)
    for task in late:
        task.cancel()
    return not late


def _forget(task: asyncio.Future[Any]) -> None:
    _unfinished.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a failed clean-up is not reported as never retrieved


def unfinished() -> int:
    """How many clean-ups are still running past their deadline."""
    return len(_unfinished)
