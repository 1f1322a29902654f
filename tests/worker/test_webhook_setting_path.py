"""Every field of ``WebhookSettings`` reaches the store and each front door: a
flag of ``webhooks add`` and ``webhooks update``, the API's request models, the
pane's form. A field added to the model and forgotten in a door fails here."""

from __future__ import annotations

import re
from pathlib import Path

import click

from activities.store.tables import Webhook
from activities.store.webhook_settings import WebhookSettings
from activities.store.webhook_views import WebhookPublic
from worker.api.models import WebhookIn, WebhookOut, WebhookPatch
from worker.api.pane.forms import FORM_FIELDS
from worker.cli.webhook_options import SETTINGS
from worker.cli.webhook_update import update
from worker.cli.webhooks import add

FIELDS = set(WebhookSettings.model_fields)
ROOT = Path(__file__).parents[2]

# Fields with flags of their own (not in SETTINGS): (add's flags, update's flags).
CLI_OWN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alias": (("--alias",), ("--alias",)),
    "url": (("--url",), ("--url",)),
    "explicit": (("--explicit",), ("--explicit", "--implicit")),
    "templates": (("--template",), ("--template", "--no-templates")),
    "timeout": (("--timeout",), ("--timeout",)),
    "verify_ssl": (("--no-verify-ssl",), ("--verify-ssl", "--no-verify-ssl")),
    "headers": (("--header",), ("--header", "--no-headers")),
    "auth": (("--basic-auth", "--custom-auth", "--secret"), ("--no-auth",)),
    "basic_username": (("--basic-auth",), ("--basic-auth",)),
    "basic_password": (("--basic-auth",), ("--basic-auth",)),
    "custom_auth": (("--custom-auth",), ("--custom-auth",)),
    "secret_alias": (("--secret",), ("--secret",)),
    "content_type": (("--content-type",), ("--content-type",)),
    "accept": (("--accept",), ("--accept",)),
    "retry_schedule": (("--retry-schedule",), ("--retry-schedule", "--default-retry-schedule")),
    "signing_secret": (("--signing-secret",), ("--signing-secret", "--no-signing")),
    "signature": (("--signature",), ("--signature",)),
    # A new webhook has no previous secret to keep signing.
    "signing_grace": ((), ("--grace",)),
    "failover_url": (("--failover-url",), ("--failover-url",)),
    "rate_limit": (("--rate-limit",), ("--rate-limit", "--no-rate-limit")),
    "max_in_flight": (("--max-in-flight",), ("--max-in-flight", "--default-max-in-flight")),
    "filter": (("--filter",), ("--filter", "--no-filter")),
    "client_cert": (("--client-cert",), ("--client-cert", "--no-client-cert")),
    "client_key": (("--client-key",), ("--client-key",)),
    "ca_bundle": (("--ca-bundle",), ("--ca-bundle", "--no-ca-bundle")),
    # A new webhook is enabled.
    "enabled": ((), ("--enable", "--disable")),
    "disabled_reason": ((), ("--reason",)),
}

# Inputs of the pane's form written out in webhook_form.html (not in FORM_FIELDS).
PANE_OWN: dict[str, tuple[str, ...]] = {
    "alias": ("alias",),
    "url": ("url",),
    "explicit": ("mode",),
    "templates": ("templates",),
    "timeout": ("timeout",),
    "verify_ssl": ("verify_ssl",),
    "headers": ("header_name", "header_value"),
    "auth": ("auth",),
    "basic_username": ("basic_username",),
    "basic_password": ("basic_password",),
    "custom_auth": ("custom_name", "custom_value"),
    "secret_alias": ("secret_alias",),
    "content_type": ("content_type",),
    "accept": ("accept",),
    "retry_schedule": ("retry_schedule",),
    "signing_secret": ("signing", "signing_secret"),
    "signature": ("signature",),
    "failover_url": ("failover_url",),
    "filter": ("filter",),
    "enabled": ("enabled",),
    "disabled_reason": ("disabled_reason",),
}
# Left to the API and the command line, as the form says (PEM files), or not
# asked (the grace of a rotation is the default there).
PANE_NOT = {
    "client_cert",
    "client_key",
    "ca_bundle",
    "signing_grace",
    "rate_limit",
    "max_in_flight",
}

# How a field is stored when it is not a column of its own name.
STORED_AS = {
    "templates": "webhook_template table",
    "basic_password": "basic_password_enc",
    "custom_auth": "custom_auth_enc",
    "signing_secret": "signing_secret_enc",
    "signature": "signing_secret_enc",  # the kind of the secret stored
    "signing_grace": "previous_signing_secret_until",
    "client_cert": "client_cert_enc",
    "client_key": "client_key_enc",
}
# Shown under another name, or never (a private key).
SHOWN_AS = {
    "client_cert": "client_certificate",
    "client_key": None,
    "signing_grace": "signing_rotation_until",
}


def _flags(command: click.Command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}


def test_every_field_is_stored() -> None:
    columns = set(Webhook.model_fields)
    assert set(STORED_AS) <= FIELDS
    for field in FIELDS:
        stored = STORED_AS.get(field, field)
        assert stored in columns or stored.endswith(" table"), f"{field}: no column {stored}"


def test_every_field_has_a_flag_on_add_and_update() -> None:
    table = {s.field for s in SETTINGS}
    assert not table & set(CLI_OWN), "a field both in SETTINGS and written out"
    missing = FIELDS - table - set(CLI_OWN)
    assert not missing, f"no flag of webhooks add/update sets {sorted(missing)}: add to SETTINGS"
    assert not (set(CLI_OWN) | table) - FIELDS, "a flag for a field the model no longer has"
    on_add, on_update = _flags(add), _flags(update)
    for setting in SETTINGS:
        assert setting.flag in on_add and setting.flag in on_update, setting.flag
    for field, (add_flags, update_flags) in CLI_OWN.items():
        assert set(add_flags) <= on_add, (field, set(add_flags) - on_add)
        assert set(update_flags) <= on_update, (field, set(update_flags) - on_update)


def test_the_api_takes_and_shows_every_field() -> None:
    assert FIELDS <= set(WebhookIn.model_fields)
    assert FIELDS <= set(WebhookPatch.model_fields)
    assert set(WebhookPublic.model_fields) <= set(WebhookOut.model_fields)
    for field in FIELDS:
        shown = SHOWN_AS.get(field, field)
        assert shown is None or shown in WebhookPublic.model_fields, f"{field} is not shown"


def test_the_pane_form_has_every_field() -> None:
    table = {f.name for f in FORM_FIELDS}
    assert not table & set(PANE_OWN) and not table & PANE_NOT
    missing = FIELDS - table - set(PANE_OWN) - PANE_NOT
    assert not missing, f"the pane's form has no input for {sorted(missing)}: add to FORM_FIELDS"
    assert not (table | set(PANE_OWN) | PANE_NOT) - FIELDS
    template = (ROOT / "worker/api/pane/templates/webhook_form.html").read_text()
    inputs = set(re.findall(r'name="([a-z_]+)"', template))
    for field, names in PANE_OWN.items():
        assert set(names) <= inputs, (field, set(names) - inputs)
