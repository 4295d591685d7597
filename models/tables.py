"""Every mapped class, imported in one place so the metadata (and Alembic) sees them all."""

from models.attendance import Attendance, AttendanceSource
from models.auth import AgentCredential, ApiToken, Role
from models.base import Base
from models.conference import Conference, ConferenceAction, ConferencePhase, ConferenceSite
from models.enrolment import AgentEnrolment
from models.history import Sample, SampleRollup, StatusChange
from models.incident import Incident
from models.lease import MonitorWorker, SiteLease
from models.maintenance import MaintenanceWindow
from models.notification import (
    NotificationChannel,
    NotificationEvent,
    NotificationMessage,
    NotificationReminder,
    NotificationRule,
)
from models.site import ProbeMode, Site, SiteLevel, SiteStatus

__all__ = [
    "AgentCredential",
    "AgentEnrolment",
    "ApiToken",
    "Attendance",
    "AttendanceSource",
    "Base",
    "Conference",
    "ConferenceAction",
    "ConferencePhase",
    "ConferenceSite",
    "Incident",
    "MaintenanceWindow",
    "MonitorWorker",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationMessage",
    "NotificationReminder",
    "NotificationRule",
    "ProbeMode",
    "Role",
    "Sample",
    "SampleRollup",
    "Site",
    "SiteLease",
    "SiteLevel",
    "SiteStatus",
    "StatusChange",
]
