"""How the notification loops report a failed round: a database outage once when it begins (not
a traceback a second while it lasts), anything else with its traceback."""

import logging

from models.db import is_outage


class RoundTrouble:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._in_outage = False

    def failed(self, error: Exception) -> None:
        if not is_outage(error):
            self._log.error("notification round failed", extra={"loop": self._what}, exc_info=error)
        elif not self._in_outage:
            self._log.warning(
                "database not reachable; notifications wait", extra={"loop": self._what}
            )
        self._in_outage = is_outage(error)

    def succeeded(self) -> None:
        self._in_outage = False
