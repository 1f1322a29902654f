"""Signals in: any input becomes a payload or one line of problem, never an exception."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from activities.contracts import FormSubmittedSignal, SmsSignal
from workflows.intake import MAX_SEEN, Intake, Rejected, describe


def test_a_repeated_event_id_is_one_event() -> None:
    intake = Intake()
    assert intake.first_time("e1")
    assert not intake.first_time("e1")
    assert intake.first_time(None) and intake.first_time(None)


def test_remembered_event_ids_are_bounded_oldest_first() -> None:
    intake = Intake()
    for n in range(MAX_SEEN + 10):
        intake.first_time(f"e{n}")
    assert len(intake.seen) == MAX_SEEN
    assert intake.first_time("e0")  # forgotten
    assert not intake.first_time(f"e{MAX_SEEN + 9}")


def test_a_payload_of_the_wrong_shape_is_rejected_in_one_line() -> None:
    with pytest.raises(Rejected) as caught:
        Intake().validate("form_submitted", {"form_data": "not an object"}, FormSubmittedSignal)
    message = str(caught.value)
    assert message.startswith("signal form_submitted ignored: invalid payload: form_data")
    assert "\n" not in message


def test_a_rejected_plain_text_otp_is_not_copied_into_the_problem() -> None:
    payload = {"purpose": "otp", "text": "Your code: 482913"}
    with pytest.raises(Rejected) as caught:
        Intake().validate("send_sms", payload, SmsSignal)
    assert "482913" not in str(caught.value)
    assert "sealed" in str(caught.value)


def test_validation_errors_are_described_without_their_input() -> None:
    try:
        SmsSignal.model_validate({"purpose": "otp", "text": "secret 123456"})
    except ValidationError as err:
        assert "123456" not in describe(err)
    else:
        raise AssertionError("an OTP in the clear must be refused")
