"""Full garbage collections, out of the probe loop's way.

A full (generation 2) collection walks every object the collector tracks, with the whole
process stopped: at 1,000 sites ~400 ms, several times a minute (docs/BENCHMARKS.md), because
the engine makes new objects all the time (windows, events, packets) and CPython runs a full
collection whenever the survivors since the last one reach a quarter of the long-lived ones.
Nearly all of those are the connections', which live for hours, and walking them finds nothing.

So the youngest generation is collected less often (`YOUNG_THRESHOLD`): fewer short-lived
objects reach the oldest generation, and full collections come rarely. What survives one is
frozen at once (`gc.freeze`: moved to a permanent generation that collections skip), and the
next walks only what is newer: its pause follows what the engine made since the last one, not
how many sites it holds, and no extra collection is run for it. A frozen object that becomes
garbage in a cycle (a connection closed since) is freed at the next turn, which unfreezes
everything, collects once and freezes again: one pause of a whole collection every
`EVERY_SECONDS`, and nothing kept for longer than that. The monitor's stall log
(monitor/probe/stalls.py) sees every pause like any other.
"""

import asyncio
import gc
from typing import Any

EVERY_SECONDS = 600.0
# Collect the youngest generation after this many allocations, not CPython's 700: the probes'
# short-lived objects (a pending request, a due timer: alive for about a heartbeat interval)
# then mostly die before collections see them twice, instead of reaching the oldest generation,
# whose growth triggers full collections (at 3,321 sites: one every ~5 s, of 18-100 ms, with
# 700; one in 180 s with this; docs/BENCHMARKS.md).
YOUNG_THRESHOLD = 10_000
_holders = 0  # engines in this process keeping the collector's survivors frozen
_thresholds = gc.get_threshold()


def refreeze() -> None:
    """Free what died since the last turn (frozen or not), and freeze what is alive."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """A collector callback: after a full collection, what it kept is long-lived."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


async def keep_frozen(every: float = EVERY_SECONDS) -> None:
    """Freeze the survivors of each full collection, and refreeze every `every` seconds; when
    cancelled (the engine stops) unfreeze: the process's other work collects as usual."""
    global _holders, _thresholds
    if _holders == 0:
        gc.callbacks.append(_freeze_survivors)
        _thresholds = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, *_thresholds[1:])
    _holders += 1
    try:
        while True:
            await asyncio.sleep(every)
            refreeze()
    finally:
        _holders -= 1
        if _holders == 0:
            gc.callbacks.remove(_freeze_survivors)
            gc.set_threshold(*_thresholds)
            gc.unfreeze()
