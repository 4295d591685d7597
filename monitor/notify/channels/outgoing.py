"""A message as channels send it, and the error of a delivery that did not happen."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    delivery_id: str  # the same at every attempt: receivers drop repeats by it
    subject: str
    text: str
    payload: dict[str, Any]


class DeliveryError(Exception):
    """Why a delivery failed, fit to store and log: never a secret (a bot token is in the
    Telegram URL, so errors are phrased here, not passed on from the HTTP client)."""
