"""Time-limited TURN credentials from a secret shared with the TURN server.

The TURN REST API scheme (draft-uberti-behave-turn-rest), which coturn implements with
`use-auth-secret`: the username is "<unix expiry>:<user>", the password is
base64(HMAC-SHA1(secret, username)). The TURN server recomputes it from the username alone,
so nothing is stored anywhere, and a credential stops working at its expiry by itself. The user
part is the site's code: the TURN server's log then says which site relayed what.
"""

import base64
import hashlib
import hmac
import time

from models.settings import IceServer, Settings, TurnServer


def turn_credentials(secret: str, user: str, expires_at: int) -> tuple[str, str]:
    """(username, credential) valid until `expires_at` (Unix seconds)."""
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def turn_server_for(turn: TurnServer, site_code: str, now: float) -> IceServer:
    username, credential = turn_credentials(
        turn.secret.get_secret_value(), site_code, int(now) + turn.ttl_seconds
    )
    return IceServer.model_validate(
        {"urls": turn.urls, "username": username, "credential": credential}
    )


def agent_ice_servers(
    settings: Settings, site_code: str, now: float | None = None
) -> list[IceServer]:
    """What an authenticated agent of `site_code` is told to use: the fixed servers of
    `BRIDGEWATCH_ICE_SERVERS`, then the TURN server with fresh credentials of its own."""
    servers = list(settings.ice_servers)
    if settings.turn is not None:
        servers.append(
            turn_server_for(settings.turn, site_code, time.time() if now is None else now)
        )
    return servers
