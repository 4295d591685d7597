"""Garbage collections, out of the probe loop's way.

A collection stops the whole process while it walks the objects of the generations it
collects. The engine makes objects all the time (a pending probe, a due timer, a window's
figures, a batch of rows), and keeps them alive from a few milliseconds to hours (the
connections). CPython's generations sort them by how many collections they survived, and walk
the survivors again in each collection of an older generation: at 3,321 sites full collections
of 18-100 ms every ~5 s, and with the youngest generation collected less often to spare the
oldest, young collections of 20-80 ms, walking tens of thousands of objects alive for about a
heartbeat (docs/BENCHMARKS.md).

So what survives any collection is frozen at once (`gc.freeze`: moved, in one step, to a
permanent generation that collections skip). No collection walks an object twice: each young
one walks only what was made since the last (CPython's 700 allocations), the older generations
stay empty, and a full collection never comes of itself. A frozen object still goes when its
last reference does; one that becomes garbage in a cycle (a connection closed since) waits for
the next turn, which unfreezes everything, collects once and freezes again: one pause of a
whole collection every `EVERY_SECONDS`, and nothing kept for longer than that. The monitor's
stall log (monitor/probe/stalls.py) sees every pause like any other.
"""

import asyncio
import gc
from typing import Any

EVERY_SECONDS = 600.0
_holders = 0  # engines in this process keeping the collector's survivors frozen


def refreeze() -> None:
    """Free what died since the last turn (frozen or not), and freeze what is alive."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """A collector callback: what a collection kept is not walked again."""
    if phase == "stop":
        gc.freeze()


async def keep_frozen(every: float = EVERY_SECONDS) -> None:
    """Freeze the survivors of each collection, and refreeze every `every` seconds; when
    cancelled (the engine stops) unfreeze: the process's other work collects as usual."""
    global _holders
    if _holders == 0:
        gc.callbacks.append(_freeze_survivors)
    _holders += 1
    try:
        while True:
            await asyncio.sleep(every)
            refreeze()
    finally:
        _holders -= 1
        if _holders == 0:
            gc.callbacks.remove(_freeze_survivors)
            gc.unfreeze()
