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


def _walked_by_full_collections(node: _Node) -> bool:
    return any(item is node for item in gc.get_objects(generation=2))


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


async def test_while_the_engine_runs_what_survives_a_full_collection_is_walked_no_more() -> None:
    thresholds = gc.get_threshold()
    keeping = asyncio.create_task(keep_frozen())
    await asyncio.sleep(0)  # the task registers itself with the collector
    node = _Node()
    gc.collect(1)
    gc.collect(1)  # now in the oldest generation, as a connection made during set-up
    assert _walked_by_full_collections(node)
    gc.collect()  # a full collection, as CPython runs on its own
    assert not _walked_by_full_collections(node)  # frozen by it: the next one skips it
    keeping.cancel()
    await asyncio.gather(keeping, return_exceptions=True)
    assert gc.get_freeze_count() == 0  # the engine stopped: the process collects as usual
    assert gc.get_threshold() == thresholds
    gc.collect()
    assert _walked_by_full_collections(node)
