"""Each type's examples are what a delivery of that type really carries, and
its answers are judged as they say."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import pytest

from activities.catalog import CATALOG, is_error_response
from activities.contracts import Envelope, FileRef, StationResult
from activities.files.documents import LocalDocumentStore, embed_files
from workflows.stations import merged_form_data, process_attachments

BUILT_IN = sorted(CATALOG)


def as_refs(body: dict[str, Any]) -> dict[str, Any]:
    """An archive body as the workflow builds it: files by reference."""

    def ref(file: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": file["name"],
            "content_type": file["content_type"],
            "ref": "sha256:" + file["sha256"],
        }

    return {
        **body,
        "document": ref(body["document"]),
        "attachments": [ref(f) for f in body["attachments"]],
    }


@pytest.mark.parametrize("name", BUILT_IN)
def test_the_request_example_is_an_envelope_as_sent(name: str) -> None:
    example = CATALOG[name].request_example
    sent = as_refs(example) if name == "archive" else example
    assert Envelope.model_validate(sent).body() == sent  # same keys, same order, nothing more


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_type_has_answers_of_its_own_judged_as_they_say(name: str) -> None:
    hook = CATALOG[name]
    assert not is_error_response(hook.success_example)
    assert is_error_response(hook.error_example)
    others = [CATALOG[n].error_example for n in BUILT_IN if n != name]
    assert hook.error_example not in others


def test_the_archive_example_is_the_process_archive_rule(tmp_path: Any) -> None:
    example = CATALOG["archive"].request_example
    stations = [StationResult.model_validate(s) for s in example["sessions"]]
    assert list(example) == ["event", "session", "form_data", "attachments", "document", "sessions"]
    assert example["form_data"] == merged_form_data(stations)
    # Every file once: the last station's signed PDF on top, the others as attachments.
    assert [f["name"] for f in example["attachments"]] == [
        f.name for f in process_attachments(stations)
    ]
    assert example["document"]["name"] == stations[-1].document.name  # type: ignore[union-attr]
    # Embedded exactly as the delivery embeds the referenced files.
    store = LocalDocumentStore(tmp_path)
    for file in [example["document"], *example["attachments"]]:
        data = base64.b64decode(file["content"])
        assert (
            store.put(io.BytesIO(data), project="acme")
            == "sha256:" + hashlib.sha256(data).hexdigest()
        )
    assert embed_files(store, as_refs(example), "acme") == example
    text = json.dumps(example)
    assert text.count(example["document"]["content"]) == 1


def test_the_submitted_example_names_files_by_reference() -> None:
    example = CATALOG["form_submitted"].request_example
    assert set(example) == {"event", "session", "client", "form_data", "attachments", "document"}
    FileRef.model_validate(example["document"])
    assert all(FileRef.model_validate(f).ref.startswith("sha256:") for f in example["attachments"])


def test_send_sms_has_every_key_of_its_fixed_structure() -> None:
    example = CATALOG["send_sms"].request_example
    assert list(example)[2:] == ["to", "text", "purpose", "link", "locale"]
