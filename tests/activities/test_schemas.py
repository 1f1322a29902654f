"""Each hook type's JSON Schema: made from its models, versioned, and every
example fits it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from activities import schemas
from activities.catalog import CATALOG
from activities.schemas import HISTORY, current_fingerprints, schema, schema_name
from tests.helpers import validate

BUILT_IN = sorted(HISTORY)


def test_every_built_in_type_has_a_versioned_schema() -> None:
    assert set(BUILT_IN) <= set(CATALOG)
    for name in BUILT_IN:
        doc = schema(name)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"urn:hookflow:schema:{name}.v{len(HISTORY[name])}"
        assert doc["version"] == len(HISTORY[name]) and schema_name(name).startswith(name + ".v")
        jsonschema.Draft202012Validator.check_schema(doc)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_a_model_change_needs_a_new_version(name: str) -> None:
    """The schema as the models make it now is the last version recorded. When
    this fails, append the new fingerprint to ``HISTORY[name]`` (a new version):
    receivers see ``webhook-schema`` change."""
    if name not in HISTORY:
        pytest.skip("a type added by a test, not a built-in one")
    versions = HISTORY[name]
    assert len(set(versions)) == len(versions), "a fingerprint recorded twice"
    now = current_fingerprints()[name]
    assert now == versions[-1], (
        f"the schema of {name} changed: append {now!r} to HISTORY[{name!r}] in "
        f"activities/schemas.py (version {len(versions) + 1})"
    )


def test_the_guard_sees_a_changed_model(monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_fingerprints()
    monkeypatch.setitem(schemas._PARTS, "session_expired", ("client",))
    after = current_fingerprints()
    assert after["session_expired"] != before["session_expired"]
    assert {k for k in before if before[k] != after[k]} == {"session_expired"}


@pytest.mark.parametrize("name", sorted(HISTORY))
def test_every_example_fits_its_schema(name: str) -> None:
    validate(CATALOG[name].request_example, name)


def test_the_schema_refuses_what_a_type_does_not_send() -> None:
    body: dict[str, Any] = json.loads(json.dumps(CATALOG["form_loaded"].request_example))
    with pytest.raises(jsonschema.ValidationError):
        validate({**body, "storage": {}}, "form_loaded")  # a part of another type
    with pytest.raises(jsonschema.ValidationError):
        validate({**body, "event": {**body["event"], "type": "WHP_ARCHIVE"}}, "form_loaded")
    sms: dict[str, Any] = dict(CATALOG["send_sms"].request_example)
    del sms["locale"]
    with pytest.raises(jsonschema.ValidationError):
        validate(sms, "send_sms")  # a fixed structure: every key, null when absent
    validate({**sms, "locale": None}, "send_sms")
    archive = json.loads(json.dumps(CATALOG["archive"].request_example))
    del archive["document"]["content"]
    with pytest.raises(jsonschema.ValidationError):
        validate(archive, "archive")  # the archive embeds its files


def test_alerts_of_both_kinds_fit_the_alert_schema() -> None:
    body = json.loads(json.dumps(CATALOG["delivery_failed"].request_example))
    body["event"]["type"] = "WHP_WEBHOOK_DISABLED"
    body["data"] = {"webhook": "crm", "webhook_id": "7d0c2a52", "reason": "failed for days"}
    validate(body, "delivery_failed")
