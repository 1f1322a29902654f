"""XML both ways: every hook type's example, and random envelopes, survive the trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.catalog import CATALOG
from activities.delivery.formats import decode, encode

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]),
    max_size=12,
)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)
envelopes = st.fixed_dictionaries(
    {
        "event": st.fixed_dictionaries(
            {
                "id": text,
                "type": st.sampled_from([h.event for h in CATALOG.values()]),
                "timestamp": text,
                "sequence": st.integers(min_value=1),
            }
        ),
        "session": st.fixed_dictionaries(
            {
                "id": text,
                "reference": text,
                "process_id": text,
                "process_number": st.integers(0),
                "transaction_number": st.integers(0),
                "recipient": st.fixed_dictionaries({"id": st.integers(0), "name": text}),
                "labels": st.dictionaries(text, text, max_size=4),
            }
        ),
    },
    optional={
        "form_data": st.dictionaries(text, values, max_size=4),
        "attachments": st.lists(st.dictionaries(text, text, max_size=3), max_size=3),
    },
)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_example_survives_the_trip(name: str) -> None:
    example = CATALOG[name].request_example
    xml = encode(example, "xml")
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<webhook>')
    assert decode(xml, "xml") == example


@given(envelopes)
def test_random_envelopes_survive_the_trip(envelope: dict[str, object]) -> None:
    assert decode(encode(envelope, "xml"), "xml") == envelope


def test_plain_xml_responses_read_as_strings_and_lists() -> None:
    body = b"<response><status>error</status><item>a</item><item>b</item></response>"
    assert decode(body, "xml") == {"status": "error", "item": ["a", "b"]}
    assert decode(b"<not-closed>", "xml") is None
    assert decode(b'<!DOCTYPE x [<!ENTITY e "boom">]><r>&e;</r>', "xml") is None


def test_control_characters_do_not_break_the_document() -> None:
    assert decode(encode({"a": "x\x00y"}, "xml"), "xml") == {"a": "x\ufffdy"}
