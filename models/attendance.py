"""Attendance: the delegates present at a site, as its agent reported them or an operator
entered them. Every new value is a row; the latest wins, and says where it came from."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow

MAX_DELEGATES = 100_000  # a hall, not a stadium: more is a typing error


class AttendanceSource(StrEnum):
    AGENT = "agent"  # typed in the agent page, or given to the agent program
    OPERATOR = "operator"  # entered through the API or the dashboard


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (Index("ix_attendance_site_id_at", "site_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    present: Mapped[int]
    source: Mapped[AttendanceSource] = mapped_column(str_enum(AttendanceSource, "source"))
    by: Mapped[str] = mapped_column(String(100))  # the agent's version, or the operator
