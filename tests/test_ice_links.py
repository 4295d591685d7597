"""TURN credentials from a shared secret and ICE servers in `Link` headers, checked against
values computed by other tools (OpenSSL) and against what a server may send. The live check
against coturn itself is in tests/test_turn.py."""

from pathlib import Path
from typing import Any

import pytest

from models.settings import IceServer, Settings, TurnServer
from monitor.wire.links import MAX_LINK_CHARS, MAX_SERVERS, ice_link_values, parse_ice_links
from monitor.wire.turn import agent_ice_servers, turn_credentials

# printf %s "1767225600:01273" | openssl dgst -sha1 -hmac "north" -binary | base64
OPENSSL_CREDENTIAL = "8CSA0v+PaQ6xAtkX4tYogp7/YYU="
TURN = TurnServer.model_validate(
    {"urls": ["turn:turn.tinh.vn:3478?transport=udp"], "secret": "north", "ttl_seconds": 3600}
)
STUN = IceServer.model_validate({"urls": ["stun:stun.tinh.vn:3478"]})


def server(
    urls: list[str], username: str | None = None, credential: str | None = None
) -> dict[str, Any]:
    return {"urls": urls, "username": username, "credential": credential}


def plain(servers: list[IceServer]) -> list[dict[str, Any]]:
    return [
        server(s.urls, s.username, s.credential.get_secret_value() if s.credential else None)
        for s in servers
    ]


def test_the_credential_is_the_hmac_sha1_of_the_username_as_openssl_computes_it() -> None:
    assert turn_credentials("north", "01273", 1767225600) == (
        "1767225600:01273",
        OPENSSL_CREDENTIAL,
    )


def test_the_protocols_example_is_what_the_code_makes() -> None:
    protocol = (Path(__file__).resolve().parents[1] / "docs" / "PROTOCOL.md").read_text()
    [example] = ice_link_values(
        [
            IceServer.model_validate(
                {
                    "urls": ["turn:turn.tinh.vn:3478?transport=udp"],
                    "username": "1767225600:01273",
                    "credential": OPENSSL_CREDENTIAL,
                }
            )
        ]
    )
    assert f"Link: {example}\n" in protocol


def test_an_agent_gets_the_fixed_servers_then_turn_for_its_site_until_now_plus_ttl(
    settings: Settings,
) -> None:
    configured = settings.model_copy(update={"ice_servers": [STUN], "turn": TURN})
    servers = agent_ice_servers(configured, "01273", now=1767222000.9)
    assert plain(servers) == [
        server(["stun:stun.tinh.vn:3478"]),
        server(["turn:turn.tinh.vn:3478?transport=udp"], "1767225600:01273", OPENSSL_CREDENTIAL),
    ]
    assert plain(agent_ice_servers(settings, "01273")) == []  # nothing configured


def test_turn_urls_that_could_break_a_link_header_are_refused() -> None:
    for url in ("http://x", "turn:a>b", "turn:a b", 'turn:"a"', "turn:a\r\nX: y"):
        with pytest.raises(ValueError, match="not a TURN URL"):
            TurnServer.model_validate({"urls": [url], "secret": "s"})


def test_the_links_are_as_whip_writes_them_and_read_back() -> None:
    servers = [
        STUN,
        IceServer.model_validate(
            {"urls": ["turn:t:3478", "turns:t:5349"], "username": 'a"b\\c', "credential": "p=;,"}
        ),
    ]
    values = ice_link_values(servers)
    assert values == [
        '<stun:stun.tinh.vn:3478>; rel="ice-server"',
        '<turn:t:3478>; rel="ice-server"; username="a\\"b\\\\c"; credential="p=;,"; '
        'credential-type="password"',
        '<turns:t:5349>; rel="ice-server"; username="a\\"b\\\\c"; credential="p=;,"; '
        'credential-type="password"',
    ]
    expected = [
        server(["stun:stun.tinh.vn:3478"]),
        server(["turn:t:3478"], 'a"b\\c', "p=;,"),
        server(["turns:t:5349"], 'a"b\\c', "p=;,"),
    ]
    assert plain(parse_ice_links(values)) == expected
    assert plain(parse_ice_links([", ".join(values)])) == expected  # one comma-joined header


def test_what_a_server_may_send_is_read_and_what_no_agent_could_use_is_skipped() -> None:
    header = (
        '</api/v1/x>; rel="next", '  # another kind of link
        "<stun:s1:3478>;REL=ice-server, "  # a token, in another case, no space
        '<turn:t1:3478>; rel="ice-server", '  # TURN without credentials: unusable
        '<https://x>; rel="ice-server", '  # not an ICE URL
        '<turn:t2:3478>; credential-type="password"; Credential="c"; rel="other ice-server"; '
        'username="u"; username="second ignored"'
    )
    assert plain(parse_ice_links([header, "<stun:s2>; rel=ice-server"])) == [
        server(["stun:s1:3478"]),
        server(["turn:t2:3478"], "u", "c"),
        server(["stun:s2"]),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        '<stun:a>; rel="ice-server", <stun:b',  # an unclosed URI
        '<stun:a>; rel="ice-server", <stun:b>; rel="ice-server',  # an unclosed quote
        '<stun:a>; rel="ice-server", <stun:b>; rel="ice-server" junk',
        '<stun:a>; rel="ice-server", <stun:b>; =x',
        '<stun:a>; rel="ice-server", stun:b; rel="ice-server"',
    ],
)
def test_a_malformed_header_gives_what_came_before_the_fault(broken: str) -> None:
    assert plain(parse_ice_links([broken])) == [server(["stun:a"])]


def test_reading_is_bounded() -> None:
    many = ", ".join(f'<stun:s{i}>; rel="ice-server"' for i in range(100))
    assert len(parse_ice_links([many])) == MAX_SERVERS
    padded = '<stun:late>; rel="ice-server"'
    assert parse_ice_links([" " * MAX_LINK_CHARS + padded]) == []
    assert parse_ice_links(["x" * 10_000_000]) == []
    assert parse_ice_links([]) == []


def test_relay_only_with_no_turn_server_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="relay needs a TURN server"):
        Settings(ice_transport_policy="relay")
    assert Settings(ice_transport_policy="relay", turn=TURN).turn == TURN
    fixed = IceServer.model_validate({"urls": ["turn:t:3478"], "username": "u", "credential": "p"})
    assert Settings(ice_transport_policy="relay", ice_servers=[fixed]).turn is None
