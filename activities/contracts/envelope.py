"""The envelope: the body every webhook receives, and the parts it is made of."""

from __future__ import annotations

from pydantic import Field, JsonValue

from activities.contracts.base import Model, UtcDatetime


class ClientInfo(Model):
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=1024)
    channel: str | None = Field(default=None, max_length=32)


class FileRef(Model):
    name: str = Field(max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)
    ref: str = Field(max_length=512)


class FormField(Model):
    """A form field as the form sends it."""

    id: str = Field(max_length=200)
    type: str = Field(default="text", max_length=50)
    value: JsonValue = None


class Recipient(Model):
    id: int = Field(default=1, ge=0, description="Position in the business process.")
    name: str = Field(default="client", max_length=100, description="Role name.")
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


class StationResult(Model):
    """One session as an archive lists it: author, submission details, data and files."""

    id: str
    reference: str
    transaction_number: int
    template: str | None = None
    recipient: Recipient
    submission: dict[str, JsonValue] = Field(default_factory=dict)
    form_data: dict[str, JsonValue] = Field(default_factory=dict)
    attachments: list[FileRef] = Field(default_factory=list)
    document: FileRef | None = None


class EventInfo(Model):
    id: str
    type: str
    timestamp: UtcDatetime
    sequence: int


class RecipientRef(Model):
    id: int
    name: str


class SessionInfo(Model):
    id: str
    reference: str
    process_id: str
    process_number: int
    transaction_number: int
    recipient: RecipientRef
    labels: dict[str, str]


_SMS_FIELDS = ("to", "text", "purpose", "link", "locale")


class Envelope(Model):
    """The body every webhook receives; optional parts are left out when unset."""

    event: EventInfo
    session: SessionInfo
    client: ClientInfo | None = None
    form_data: dict[str, JsonValue] | None = None
    attachments: list[FileRef] | None = None
    document: FileRef | None = None
    storage: dict[str, JsonValue] | None = None
    change: FormField | None = None
    fields: list[FormField] | None = None
    # Send SMS: one fixed body.
    to: str | None = None
    text: str | None = None
    text_ref: str | None = None  # opened by the delivery activity, never sent as such
    purpose: str | None = None
    link: str | None = None
    locale: str | None = None
    # Archive: every session of the process.
    sessions: list[StationResult] | None = None
    # Hook types added to the catalog carry their payload here.
    data: dict[str, JsonValue] | None = None

    def body(self) -> dict[str, JsonValue]:
        body = self.model_dump(mode="json", exclude_none=True)
        # A field's value may be null, and the receiver should see it so.
        for name in ("change", "fields"):
            if getattr(self, name) is not None:
                body[name] = self.model_dump(mode="json", include={name})[name]
        if self.to is not None:  # Send SMS has a fixed structure: every key, null when absent
            sms = {name: body.pop(name, None) for name in _SMS_FIELDS}
            text_ref = body.pop("text_ref", None)
            # In the documented order, after event and session. A sealed text's
            # reference goes last: the delivery activity replaces it by the text,
            # which keeps its place (a key set again keeps its position).
            body = {**body, **sms} | ({"text_ref": text_ref} if text_ref is not None else {})
        return body
