"""Agent credentials on the wire: one secret per site, and how each side proves itself.

- Push (agent -> monitor): the agent sends its secret as a bearer token; the monitor keeps only
  its SHA-256 hash and accepts it for that one site.
- Pull (monitor -> agent): the monitor keeps `monitor_key = HMAC-SHA256(secret, "bridgewatch
  monitor key v1")`, from which the secret cannot be recovered, and sends a short-lived token
  `bwm1.<site>.<unix time>.<HMAC-SHA256(monitor_key, "<site>.<unix time>")>`. The agent derives
  the same key from its secret and checks the site, the time (within `MAX_SKEW_SECONDS`) and
  the MAC. A leaked database thus lets nobody speak for a site.

The monitor's store of secrets is `monitor.probe.credentials`.
"""

import hashlib
import hmac
import time

MAX_SKEW_SECONDS = 120
_KEY_LABEL = b"bridgewatch monitor key v1"


def monitor_key(secret: str) -> str:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).hexdigest()


def _mac(key: str, site_code: str, stamp: int) -> str:
    return hmac.new(key.encode(), f"{site_code}.{stamp}".encode(), hashlib.sha256).hexdigest()


def monitor_token(key: str, site_code: str, now: float | None = None) -> str:
    stamp = int(now if now is not None else time.time())
    return f"bwm1.{site_code}.{stamp}.{_mac(key, site_code, stamp)}"


def verify_monitor_token(secret: str, site_code: str, token: str, now: float | None = None) -> bool:
    # Split from the right: site codes may contain dots themselves.
    head, _, rest = token.partition(".")
    site, stamp_text, mac = [*rest.rsplit(".", 2), "", ""][:3]
    if head != "bwm1" or site != site_code or not (stamp_text.isascii() and stamp_text.isdigit()):
        return False
    stamp = int(stamp_text)
    if abs((now if now is not None else time.time()) - stamp) > MAX_SKEW_SECONDS:
        return False
    expected = _mac(monitor_key(secret), site_code, stamp)
    return hmac.compare_digest(mac.encode(), expected.encode())
