"""The engine keeps its long-lived objects out of the collector's way (monitor/probe/gc_freeze.py)
without keeping garbage: what dies after a freeze is freed at the next turn."""

import gc
import weakref

from monitor.probe.gc_freeze import refreeze


class _Node:
    """An object in a reference cycle, as a connection's objects are: only a collection frees
    it, not its last reference going away."""

    def __init__(self) -> None:
        self.me = self


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
