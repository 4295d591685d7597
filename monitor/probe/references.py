"""The monitor's reference targets (`BRIDGEWATCH_MONITOR_LINK_REFERENCES`): TCP host:port
addresses that answer whenever the monitor's own link works -- an agent at the hall, the
gateway. A connection accepted is an answer; refused, unroutable or timed out is not."""

import asyncio
import contextlib

TIMEOUT_SECONDS = 2.0


async def unreachable(references: list[str]) -> list[str]:
    """The references that did not answer, all tried at once, each within TIMEOUT_SECONDS."""
    answers = await asyncio.gather(*(_answers(reference) for reference in references))
    return [ref for ref, answered in zip(references, answers, strict=True) if not answered]


async def _answers(reference: str) -> bool:
    host, _, port = reference.rpartition(":")
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await writer.wait_closed()
    return True
