"""ICE servers in `Link` headers, as WHIP hands them to its clients (RFC 9725 §4.6):

    Link: <turn:turn.tinh.vn:3478?transport=udp>; rel="ice-server"; username="1767225600:01273";
          credential="…"; credential-type="password"

One link per URL. The monitor writes them on its answers to an authenticated agent; the agent
reads them for its next dial. The reader takes what a server may send (several headers or one
comma-joined, quoted strings with escapes, parameters in any case and order, other links),
keeps only usable ICE servers, and reads a bounded amount: a header is untrusted input.
"""

from collections.abc import Iterable

from models.settings import IceServer

ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
MAX_LINK_CHARS = 8192  # what is read of all the Link headers together
MAX_SERVERS = 16
_SEPARATORS = ';,="<>'


def _quoted(text: str) -> str:
    if any(not c.isprintable() for c in text):
        raise ValueError("an ICE server's username or credential holds a control character")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ice_link_values(servers: Iterable[IceServer]) -> list[str]:
    """One `Link` header value per URL of each server."""
    values: list[str] = []
    for server in servers:
        params = '; rel="ice-server"'
        if server.username is not None and server.credential is not None:
            params += f"; username={_quoted(server.username)}"
            params += f"; credential={_quoted(server.credential.get_secret_value())}"
            params += '; credential-type="password"'
        values.extend(f"<{url}>{params}" for url in server.urls)
    return values


class _Scanner:
    """Reads links one by one from a header value; stops at the first thing it cannot read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def _skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t":
            self.at += 1

    def _peek(self) -> str:
        self._skip_space()
        return self.text[self.at] if self.at < len(self.text) else ""

    def _until(self, stops: str) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in stops:
            self.at += 1
        return self.text[start : self.at]

    def _quoted_string(self) -> str | None:
        self.at += 1  # the opening quote
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == '"':
                return "".join(out)
            if char == "\\" and self.at < len(self.text):
                char = self.text[self.at]
                self.at += 1
            out.append(char)
        return None  # never closed

    def _param(self) -> tuple[str, str] | None:
        self._skip_space()
        name = self._until(_SEPARATORS + " \t").lower()
        if not name:
            return None
        if self._peek() != "=":
            return name, ""
        self.at += 1
        if self._peek() == '"':
            value = self._quoted_string()
            return None if value is None else (name, value)
        return name, self._until(";, \t")

    def link(self) -> tuple[str, dict[str, str]] | None:
        """The next link's URI and parameters (first of each name), or None at the end."""
        while self._peek() == ",":
            self.at += 1
        if self._peek() != "<":
            return None
        self.at += 1
        uri = self._until(">")
        if self.at >= len(self.text):
            return None
        self.at += 1
        params: dict[str, str] = {}
        while self._peek() == ";":
            self.at += 1
            param = self._param()
            if param is None:
                return None
            params.setdefault(*param)
        if self._peek() not in (",", ""):
            return None
        return uri.strip(), params


def _ice_server(uri: str, params: dict[str, str]) -> IceServer | None:
    if "ice-server" not in params.get("rel", "").lower().split():
        return None
    if not uri.lower().startswith(ICE_SCHEMES) or any(c.isspace() for c in uri):
        return None
    username, credential = params.get("username"), params.get("credential")
    if uri.lower().startswith(("turn:", "turns:")) and not (username and credential):
        return None  # a browser refuses a TURN server without them; so does aioice
    return IceServer.model_validate(
        {"urls": [uri], "username": username or None, "credential": credential or None}
    )


def parse_ice_links(values: Iterable[str]) -> list[IceServer]:
    """The ICE servers in these `Link` header values, in order, at most MAX_SERVERS."""
    servers: list[IceServer] = []
    budget = MAX_LINK_CHARS
    for value in values:
        scanner = _Scanner(value[:budget])
        budget -= len(scanner.text)
        while (link := scanner.link()) is not None:
            server = _ice_server(*link)
            if server is not None:
                servers.append(server)
            if len(servers) == MAX_SERVERS:
                return servers
        if budget <= 0:
            break
    return servers
