"""The sites this process may probe when it shares them with other workers.

The engine needs only this much of scale-out; `monitor.scaleout.leases.LeaseKeeper` provides it
(the scale-out package builds on the engine's events, so the engine must not import it).
"""

import asyncio
from collections.abc import Callable
from typing import Protocol


class Holdings(Protocol):
    @property
    def id(self) -> str:
        """This worker, as other processes know it."""

    @property
    def held(self) -> frozenset[int]:
        """The ids of the sites this worker may probe now."""

    @property
    def workers(self) -> int:
        """How many workers share the sites."""

    def start(self, changed: Callable[[], None]) -> asyncio.Task[None]:
        """Start keeping the holdings; `changed()` is called when `held` changes."""

    async def first_tick(self) -> None:
        """Returns once `held` is meaningful."""

    def request_tick(self) -> None:
        """Sites were added or edited: claim what is new now."""

    async def stop(self) -> None:
        """Hand every site over now."""
