"""The engine keeps its long-lived objects out of the collector's way (monitor/probe/gc_freeze.py)
without keeping garbage: what dies after a freeze is freed at the next turn."""

import asyncio
import gc
import weakref

from monitor.probe.gc_freeze import keep_frozen, refreeze


class _Node:
    """An object in a reference cycle, as a connection's objects are: only a collection frees
    it, not its last reference going away."""

    def __init__(self) -> None:
        self.me = self


def _walked_by_collections(node: _Node) -> bool:
    return any(item is node for generation in range(3) for item in gc.get_objects(generation))


def test_a_frozen_cycle_is_skipped_by_collections_and_freed_at_the_next_turn() -> None:
    node = _Node()
    alive = weakref.ref(node)
    try:
        refreeze()
        assert gc.get_freeze_count() > 0
        del node  # a connection closed after the freeze: garbage, in a cycle
        gc.collect()
        assert alive() is not None  # frozen: the full collections of the day skip it
        refreeze()
        assert alive() is None  # the next turn frees it: a freeze keeps nothing for good
    finally:
        gc.unfreeze()


async def test_while_the_engine_runs_what_survives_a_young_collection_is_walked_no_more() -> None:
    keeping = asyncio.create_task(keep_frozen())
    await asyncio.sleep(0)  # the task registers itself with the collector
    node = _Node()  # a connection made during set-up, or a probe that lives a second
    gc.collect(0)  # a young collection, as CPython runs every 700 allocations
    assert not _walked_by_collections(node)  # frozen by it: no later collection walks it
    keeping.cancel()
    await asyncio.gather(keeping, return_exceptions=True)
    assert gc.get_freeze_count() == 0  # the engine stopped: the process collects as usual
    gc.collect()
    assert _walked_by_collections(node)
