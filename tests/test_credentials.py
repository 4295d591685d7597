"""Agent credentials: the monitor proves itself without holding the secret; tokens expire."""

import time

from monitor.wire.tokens import monitor_key, monitor_token, verify_monitor_token

SECRET = "bws_example-secret"


def test_a_monitor_token_is_valid_for_its_site_and_time_only() -> None:
    now = time.time()
    token = monitor_token(monitor_key(SECRET), "01267", now)
    assert verify_monitor_token(SECRET, "01267", token, now)
    assert verify_monitor_token(SECRET, "01267", token, now + 100)
    assert not verify_monitor_token(SECRET, "01267", token, now + 200)  # too old: no replay
    assert not verify_monitor_token(SECRET, "01270", token, now)  # another site's
    assert not verify_monitor_token("bws_other", "01267", token, now)  # another secret's
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert not verify_monitor_token(SECRET, "01267", forged, now)
    for junk in ("", "bwm1", "bwm1.01267.x.y", SECRET, "bwm2" + token[4:]):
        assert not verify_monitor_token(SECRET, "01267", junk, now)


def test_the_stored_key_is_not_the_secret() -> None:
    key = monitor_key(SECRET)
    assert SECRET not in key and len(key) == 64
    # Holding only the key, one cannot pass as the agent: push mode wants the secret itself.
    assert not verify_monitor_token(key, "01267", monitor_token(key, "01267"))


def test_codes_with_dots_and_junk_tokens() -> None:
    now = time.time()
    dotted = monitor_token(monitor_key(SECRET), "CB.040.1", now)
    assert verify_monitor_token(SECRET, "CB.040.1", dotted, now)
    assert not verify_monitor_token(SECRET, "040.1", dotted, now)
    stamp = str(int(now))
    for junk in (f"bwm1.01267.{stamp}.é", "bwm1.01267.²³.abc", f"bwm1.01267.{stamp}"):
        assert not verify_monitor_token(SECRET, "01267", junk, now)  # refused, never a crash
