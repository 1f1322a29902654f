"""Random input never crashes a model, a command or a session, and never half-writes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import BY_SIGNAL
from activities.contracts import CreateSession, SessionStatus
from activities.errors import ConfigError
from activities.store.webhooks import WebhookCreate
from tests.helpers import start, wait_state
from tests.worker.cli import Cli
from tests.worker.test_cli_webhooks import stored
from worker.runtime.settings import Settings
from workflows.intake import describe

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
session_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=70),
        "project": st.text(max_size=70),
        "template": json_values,
        "recipient": json_values,
        "labels": json_values,
        "expires_in": json_values,
        "retention": json_values,
        "integrations": json_values,
        "process_id": json_values,
    },
)


@given(session_like)
def test_create_session_accepts_or_names_the_problem(data: dict[str, object]) -> None:
    try:
        req = CreateSession.model_validate(data)
    except ValidationError:
        return
    # What is accepted travels as JSON through Temporal and comes back the same.
    assert CreateSession.model_validate_json(req.model_dump_json()) == req


@given(st.sampled_from(sorted(BY_SIGNAL)), json_values)
def test_signal_models_accept_or_name_the_problem(name: str, payload: object) -> None:
    model = BY_SIGNAL[name].payload
    try:
        data = model.model_validate(payload)
    except ValidationError as err:
        problem = describe(err)
        assert problem and "\n" not in problem and len(problem) <= 300
        return
    # What is accepted travels as JSON and comes back the same.
    assert model.model_validate_json(data.model_dump_json()) == data


@given(
    st.fixed_dictionaries(
        {
            "project": st.text(max_size=20),
            "alias": st.text(max_size=20),
            "type": st.text(max_size=20),
            "url": st.text(max_size=40),
        },
        optional={"headers": json_values, "retry_schedule": json_values, "timeout": json_values},
    )
)
def test_webhook_model_accepts_or_names_the_problem(data: dict[str, object]) -> None:
    try:
        webhook = WebhookCreate.model_validate(data)
    except ValidationError as err:
        assert err.error_count() >= 1
        return
    except ConfigError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert (webhook.project, webhook.alias, webhook.url) == (
        data["project"],
        data["alias"],
        data["url"],
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    alias=st.text(max_size=12),
    url=st.one_of(st.text(max_size=30), st.just("https://ok.example.com/")),
    header=st.text(max_size=15),
    schedule=st.text(max_size=10),
)
def test_add_command_with_random_input(
    cli: Cli, tmp_path: Path, alias: str, url: str, header: str, schedule: str
) -> None:
    before = len(stored(tmp_path))
    args = [
        "webhooks",
        "add",
        "--project",
        "acme",
        "--type",
        "archive",
        "--alias",
        alias,
        "--url",
        url,
        "--header",
        header,
        "--retry-schedule",
        schedule,
    ]
    code, out, err = cli.run(*args)
    if code:
        assert err.startswith("hookflow: error: ") and len(err.strip().splitlines()) == 1
        assert len(stored(tmp_path)) == before
    else:
        assert len(stored(tmp_path)) == before + 1


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(10**12), 10**12)
    if kind == 3:
        return rng.random() * 1e6
    if kind == 4:
        return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(12)))
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["client", "form_data", "storage", "event_id", "ip", "x", "document", "attachments"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


async def test_random_signals_never_kill_a_session(
    client: Client, worker: Worker, settings: Settings
) -> None:
    handle = await start(client, settings)
    rng = random.Random(20261128)
    names = sorted(BY_SIGNAL) + ["nonsense"]
    sent = [(rng.choice(names), random_json(rng)) for _ in range(40)]
    events, problems, seen = 0, 0, set()
    for name, payload in sent:
        if name in ("delete", "form_submitted", "expire"):
            name = "client_logged_in"  # keep the session open to look at it afterwards
        await handle.signal(name, payload)
        # What the session must make of it: an event, a problem, or (a repeat) nothing.
        try:
            data = BY_SIGNAL[name].payload.model_validate({} if payload is None else payload)
        except (KeyError, ValidationError):
            problems += 1
            continue
        if data.event_id is not None and data.event_id in seen:
            continue
        seen.add(data.event_id)
        if name == "send_sms":
            problems += 1  # the recipient has no phone: recorded, not sent
        else:
            events += 1
    await handle.signal("form_loaded", {"client": {"ip": "203.0.113.1"}})
    state = await wait_state(handle, lambda s: s.events[-1].type == "WHEF_CLIENT_FORM_LOADED")
    assert state.status == SessionStatus.ACTIVE
    assert state.sequence == 1 + events + 1
    assert len(state.problems) == problems
    assert all("\n" not in p for p in state.problems)
    assert json.dumps(state.model_dump(mode="json"))  # still a readable state
