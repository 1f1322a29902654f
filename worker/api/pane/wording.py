"""What the pane says, in its users' words: the platform's customers see form
fields, never the command line's flags and commands, nor the operators'
tools. The store and the services keep the CLI's wording; the pane maps it."""

from __future__ import annotations

import re

from pydantic import ValidationError

from activities.contracts import FailureType
from activities.errors import HookflowError
from worker.api.errors import status_of

ASK_ADMIN = "ask your administrator"
# The form's fields, by the name the store and its errors use.
LABELS = {
    "alias": "Alias",
    "type": "Type",
    "project": "Project",
    "explicit": "Mode",
    "templates": "Templates",
    "url": "URL",
    "timeout": "Timeout",
    "verify_ssl": "Verify SSL",
    "headers": "Headers",
    "auth": "Authentication",
    "basic_username": "User",
    "basic_password": "Password",
    "custom_auth": "Authentication: Custom",
    "secret_alias": "Secret",
    "content_type": "Content type",
    "accept": "Accept",
    "retry_schedule": "Retry schedule",
    "failover_url": "Failover URL",
    "filter": "Filter",
    "signing_secret": "Signing secret",
    "signature": "Signature",
    "enabled": "Enabled",
    "disabled_reason": "Reason when disabled",
}
# The command line's flags, as the form field that does the same.
FLAGS = {
    "--basic-auth": "Authentication: Basic",
    "--custom-auth": "Authentication: Custom",
    "--secret": "Authentication: Secret",
    "--explicit": "Mode: Explicit",
    "--implicit": "Mode: Implicit",
    "--template": "Templates",
    "--enable": "Enabled",
    "--disable": "Enabled",
    "--project": "Project",
    "--url": "URL",
    "--timeout": "Timeout",
    "--header": "Headers",
    "--content-type": "Content type",
    "--accept": "Accept",
    "--retry-schedule": "Retry schedule",
    "--failover-url": "Failover URL",
    "--filter": "Filter",
    "--signing-secret": "Signing secret",
    "--signature": "Signature",
}
# Whole phrases first: they read better than a flag swapped for a label.
PHRASES = (
    (re.compile(r"use --basic-auth"), "put them under Authentication: Basic"),
    (re.compile(r"use --custom-auth (\S+?)=\.\.\. ?"), r"add \1 under Authentication: Custom "),
    (
        re.compile(r"enable it with `hookflow webhooks update --enable` first"),
        "tick Enabled on the webhook's page and Save first",
    ),
    (re.compile(r"add it with `hookflow secrets add`"), f"{ASK_ADMIN} to add it"),
    (re.compile(r": add --project"), ": choose the Project"),
    (re.compile(r"USER:PASSWORD"), "a User and a Password"),
    (re.compile(r"auth 'none'"), "Authentication None"),
)
_FAILURE_TYPE = re.compile(r"^(?:" + "|".join(t.value for t in FailureType) + r"): ")
_COMMAND = re.compile(r"`?hookflow [a-z][^`.;:)]*`?")
_FLAG = re.compile(r"--[a-z][a-z-]*")


def customer_words(message: str) -> str:
    """``message`` with commands and flags said the way the pane shows them."""
    for pattern, replacement in PHRASES:
        message = pattern.sub(replacement, message)
    message = _COMMAND.sub(ASK_ADMIN, message)
    return _FLAG.sub(lambda flag: FLAGS.get(flag[0], flag[0].lstrip("-")), message)


def said(text: str | None) -> str:
    """A delivery's or a session's error as the pane shows it: without the
    failure's type name (an operator's handle), in the customer's words."""
    return customer_words(_FAILURE_TYPE.sub("", text)) if text else ""


def field_error(err: ValidationError) -> str:
    """The first problem of a form's validation, naming its form field."""
    first = err.errors(include_url=False)[0]
    where = [str(part) for part in first["loc"]]
    message = str(first["msg"]).removeprefix("Value error, ")
    if where:
        message = message.removeprefix(f"{where[0]}: ")  # the field named twice
        where[0] = LABELS.get(where[0], where[0])
    more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    prefix = f"{' '.join(where)}: " if where else ""
    return customer_words(f"{prefix}{message}{more}")


def failure(err: Exception) -> tuple[str, int]:
    """A form's failure as one line for the page, and its HTTP status."""
    if isinstance(err, ValidationError):
        return field_error(err), 422
    if isinstance(err, HookflowError):
        return customer_words(str(err)), status_of(err)[0]
    raise err
