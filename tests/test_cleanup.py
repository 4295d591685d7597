"""Clean-up has a hard deadline, even when the work ignores being cancelled."""

import asyncio
import contextlib

from monitor.wire.cleanup import clean_up_within, unfinished


async def test_a_close_that_ignores_cancellation_cannot_hold_up_its_caller() -> None:
    """Shaped like aioice's close: it awaits its consent task inside `except CancelledError`,
    so the cancellation meant for the close is swallowed and the close goes on. `wait_for`
    would wait for all of it; a reload that stopped 1,660 sites hung like that for good."""
    released = asyncio.Event()

    async def stubborn_close() -> None:
        consent = asyncio.create_task(asyncio.sleep(3600))
        with contextlib.suppress(asyncio.CancelledError):
            await consent
        await released.wait()

    async with asyncio.timeout(30):  # the test's own guard: a hang fails here
        assert not await clean_up_within(0.2, stubborn_close())
    assert unfinished() == 1  # still running, still referenced
    released.set()
    await asyncio.sleep(0.1)  # a few turns of the loop: it ends, and is let go
    assert unfinished() == 0


async def test_clean_up_in_time_says_so_and_keeps_errors_to_itself() -> None:
    async def fails() -> None:
        raise ConnectionError("peer gone")

    assert await clean_up_within(5, fails(), asyncio.sleep(0.01))
    assert await clean_up_within(5)
