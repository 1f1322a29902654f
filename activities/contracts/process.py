"""The ``BusinessProcess`` workflow's input and state."""

from __future__ import annotations

import uuid
import zlib
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from activities.contracts.base import DEFAULT_RETENTION, Model, Slug, process_workflow_id
from activities.contracts.delivery import DeliveryRecord
from activities.contracts.envelope import Recipient
from activities.contracts.limits import Duration, Labels
from activities.contracts.session import Integration


class Station(Model):
    """One session of a business process, in order."""

    template: Slug | None = None
    recipient: Recipient = Field(default_factory=Recipient)
    labels: Labels = Field(default_factory=dict)
    expires_in: Duration | None = None
    link: str | None = Field(default=None, max_length=2048)


class CreateProcess(Model):
    """Input of the ``BusinessProcess`` workflow: its sessions (stations) in order."""

    id: uuid.UUID
    project: Slug
    process_number: int | None = Field(default=None, ge=0)
    labels: Labels = Field(default_factory=dict)
    integrations: list[Integration] = Field(default_factory=list, max_length=50)
    sessions: list[Station] = Field(min_length=1, max_length=50)
    expires_in: Duration | None = None
    retention: Duration = DEFAULT_RETENTION
    locale: str = Field(default="en", max_length=16)

    @model_validator(mode="after")
    def _derive(self) -> CreateProcess:
        if self.process_number is None:
            self.process_number = zlib.crc32(self.id.bytes) % 1_000_000
        return self

    @property
    def workflow_id(self) -> str:
        return process_workflow_id(self.project, self.id)

    def station_id(self, position: int) -> str:
        """The session id of the station at ``position`` (1-based), derived from the process."""
        return f"{self.id.hex}-{position}"


class ProcessStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    EXPIRED = "expired"
    STOPPED = "stopped"  # a station was deleted or terminated before it was submitted


class StationState(Model):
    position: int
    session_id: str
    template: str | None
    recipient: str
    status: Literal["waiting", "active", "submitted", "expired"]


class ProcessState(Model):
    """Answer of the process's ``state`` query."""

    id: str
    project: str
    status: ProcessStatus
    stations: list[StationState]
    deliveries: list[DeliveryRecord]
    problems: list[str]
