"""ICE configuration shared by the monitor and the agent.

Two aiortc facts shape this module. `RTCConfiguration(iceServers=None)` silently adds a public
STUN server, so we always pass an explicit list. And aioice leaves 127.0.0.1 out when it gathers
host candidates; a monitor and agents on one machine (the demo, the tests) need it, and a
closed network may want to pin the interface, so `restrict_host_addresses` makes the gathered
addresses a deliberate setting (`BRIDGEWATCH_ICE_HOST_ADDRESSES`).
"""

from typing import Literal

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from models.settings import IceServer

POLICIES = {"all": RTCIceTransportPolicy.ALL, "relay": RTCIceTransportPolicy.RELAY}


def rtc_ice_server(server: IceServer) -> RTCIceServer:
    return RTCIceServer(
        urls=server.urls,
        username=server.username,
        credential=server.credential.get_secret_value() if server.credential else None,
    )


def rtc_configuration(
    servers: list[IceServer], policy: Literal["all", "relay"] = "all"
) -> RTCConfiguration:
    """`policy` relay: only relayed candidates (an agent made to go through TURN)."""
    return RTCConfiguration(
        iceServers=[rtc_ice_server(server) for server in servers],
        iceTransportPolicy=POLICIES[policy],
    )


def restrict_host_addresses(addresses: list[str]) -> None:
    """Gather host candidates on exactly `addresses` (process-wide); empty keeps aioice's way."""
    if not addresses:
        return
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses
