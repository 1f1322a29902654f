"""The pane's webhook form: archive documents and max body size go to the same
settings the API takes, and come back as the form shows them."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from activities.errors import ConfigError
from worker.api.pane.forms import _size_value, form_settings

BASE = {"alias": "dms", "url": "https://dms.example.com/h", "type": "archive", "timeout": "30"}


def test_documents_and_max_body_size_from_the_form() -> None:
    fields, _ = form_settings(
        FormData({**BASE, "documents": "link", "max_body_size": "2MiB"}), current=None
    )
    assert fields["documents"] == "link" and fields["max_body_size"] == 2 * 1024 * 1024
    fields, _ = form_settings(FormData(BASE), current=None)
    assert "documents" not in fields and "max_body_size" not in fields
    with pytest.raises(ConfigError, match="Max body size"):
        form_settings(FormData({**BASE, "max_body_size": "lots"}), current=None)


@pytest.mark.parametrize("size", [10 * 1024 * 1024, 1536 * 1024, 1000])
def test_a_size_shown_reads_back_the_same(size: int) -> None:
    from activities.contracts.limits import parse_size

    assert parse_size(_size_value(size)) == size
