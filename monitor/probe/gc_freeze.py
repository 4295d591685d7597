"""Full garbage collections, out of the probe loop's way.

A full (generation 2) collection walks every object the collector tracks, with the whole
process stopped: at 1,000 sites ~400 ms, several times a minute (docs/BENCHMARKS.md), because
the engine makes new objects all the time (windows, events, packets) and CPython runs a full
collection whenever the survivors since the last one reach a quarter of the long-lived ones.
Nearly all of those are the connections', which live for hours, and walking them finds nothing.

So the objects alive at each turn are frozen (`gc.freeze`: moved to a permanent generation that
collections skip), and later full collections walk only what is newer. A frozen object that
becomes garbage in a cycle (a connection closed since) is freed at the next turn, which
unfreezes everything, collects once and freezes again: one pause every `EVERY_SECONDS` instead
of several a minute, and nothing kept for longer than that. The monitor's stall log
(monitor/probe/stalls.py) sees that pause like any other collection.
"""

import asyncio
import gc

# The first turn once the first set-ups are done (1,000 sites take ~30 s), then every 10 min.
FIRST_SECONDS = 60.0
EVERY_SECONDS = 600.0


def refreeze() -> None:
    """Free what died since the last turn (frozen or not), and freeze what is alive."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def keep_frozen(first: float = FIRST_SECONDS, every: float = EVERY_SECONDS) -> None:
    """Refreeze at `first` seconds, then every `every` seconds; unfreeze when cancelled (the
    engine stops: the process's other work collects as usual)."""
    try:
        await asyncio.sleep(first)
        while True:
            refreeze()
            await asyncio.sleep(every)
    finally:
        gc.unfreeze()
