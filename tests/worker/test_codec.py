"""The payload codec, its keys and its HTTP server, with real keys and a real server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from activities.errors import PayloadUndecodable, SettingsError
from tests.worker.cli import Cli
from worker.devstack.codec_server import CodecServer, build_app, check_exposure, is_loopback
from worker.runtime import codec as codec_module
from worker.runtime.codec import ENCODING, KEY_ID, EncryptionCodec, KeyRing, key_id, new_key
from worker.runtime.settings import Settings

MARKER = b'{"name": "Dana Marker-7431"}'


def plain(data: bytes = MARKER) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def ring(*keys: str) -> KeyRing:
    return KeyRing.parse(",".join(keys), source="test")


async def test_encrypts_with_the_key_id_and_decrypts_back() -> None:
    key = new_key()
    codec = EncryptionCodec(ring(key))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID].decode() == codec.ring.active_id
    assert b"Marker-7431" not in sealed.SerializeToString()
    [opened] = await codec.decode([sealed])
    assert opened == plain()
    # A fresh nonce each time: the same payload never encrypts to the same bytes.
    [again] = await codec.encode([plain()])
    assert again.data != sealed.data


async def test_unencoded_payloads_pass_through_and_sealed_ones_are_not_sealed_twice() -> None:
    codec = EncryptionCodec(ring(new_key()))
    assert await codec.decode([plain()]) == [plain()]
    [sealed] = await codec.encode([plain()])
    assert await codec.encode([sealed]) == [sealed]


async def test_old_keys_still_decrypt_and_the_last_key_encrypts() -> None:
    old, new = new_key(), new_key()
    [before] = await EncryptionCodec(ring(old)).encode([plain()])
    rotated = EncryptionCodec(ring(old, new))
    [after] = await rotated.encode([plain()])
    assert after.metadata[KEY_ID].decode() == rotated.ring.active_id != before.metadata[KEY_ID]
    assert await rotated.decode([before, after]) == [plain(), plain()]


async def test_unknown_key_and_altered_payload_are_refused() -> None:
    [sealed] = await EncryptionCodec(ring(new_key())).encode([plain()])
    other = EncryptionCodec(ring(new_key()))
    with pytest.raises(PayloadUndecodable, match="not among this process's keys"):
        await other.decode([sealed])
    codec = EncryptionCodec(ring(new_key()))
    [sealed] = await codec.encode([plain()])
    altered = Payload()
    altered.CopyFrom(sealed)
    altered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadUndecodable, match="corrupted or altered"):
        await codec.decode([altered])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "no codec key"),
        ("c2hvcnQ=", "must be 32 bytes, base64-encoded (got 5)"),
        ("!!!!", "must be 32 bytes"),
    ],
)
def test_a_malformed_key_is_one_line_without_the_key(value: str, message: str) -> None:
    settings = Settings.from_env(data_dir="/nonexistent", env={"HOOKFLOW_CODEC_KEY": value or " "})
    with pytest.raises(SettingsError, match=re.escape(message)) as raised:
        settings.codec_keys()
    assert "\n" not in str(raised.value)
    if value:
        assert value not in str(raised.value)


def test_a_missing_key_file_is_one_line_and_up_creates_it_private(tmp_path: Path) -> None:
    settings = Settings.from_env(data_dir=tmp_path, env={})
    with pytest.raises(SettingsError, match=r"no codec key: set HOOKFLOW_CODEC_KEY or create"):
        settings.codec_keys()
    created = settings.codec_keys(create=True)
    mode = stat.S_IMODE(settings.codec_key_file.stat().st_mode)
    assert mode == 0o600
    assert settings.codec_keys().ids == created.ids  # read back, not made again


async def test_rotate_from_the_command_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env(data_dir=tmp_path, env={})
    first = settings.codec_keys(create=True)
    running = settings.codec()  # a worker started before the rotation
    [old_payload] = await running.encode([plain()])

    out = cli.ok("codec", "rotate")
    rotated = settings.codec_keys()
    assert rotated.ids[0] == first.active_id and len(rotated.ids) == 2
    assert f"codec key {rotated.active_id} encrypts from now on" in out
    assert stat.S_IMODE(settings.codec_key_file.stat().st_mode) == 0o600
    assert cli.ok("codec", "keys").splitlines() == [
        f"{first.active_id}  decrypts",
        f"{rotated.active_id}  encrypts",
    ]
    for key in settings.codec_key_file.read_text().split():
        assert key not in out

    # A process restarted after the rotation encrypts with the new key and reads the old.
    [new_payload] = await settings.codec().encode([plain()])
    assert new_payload.metadata[KEY_ID].decode() == rotated.active_id
    assert await settings.codec().decode([old_payload]) == [plain()]
    # The one still running reads the new key's payloads once it reads the file again.
    monkeypatch.setattr(codec_module, "RELOAD_EVERY", 0.0)
    assert await running.decode([new_payload]) == [plain()]
    [still_old] = await running.encode([plain()])
    assert still_old.metadata[KEY_ID].decode() == first.active_id

    monkeypatch.setenv("HOOKFLOW_CODEC_KEY", new_key())
    code, err = cli.fails("codec", "rotate")
    assert err.startswith("hookflow: error: HOOKFLOW_CODEC_KEY is set") and err.count("\n") == 1


def test_key_ids_name_keys_stably() -> None:
    key = new_key()
    assert key_id(KeyRing.parse(key, source="t").keys[0]) == ring(key).active_id
    assert ring(key).active_id != ring(new_key()).active_id


# --- the codec server ----------------------------------------------------------------

UI = "http://127.0.0.1:8233"


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, EncryptionCodec]]:
    codec = EncryptionCodec(ring(new_key()))
    app = build_app(codec, origins=[UI], token="s3cret-token", allow_encode=True)
    server = CodecServer(app, port=0)
    await server.start()
    try:
        yield server.url, codec
    finally:
        await server.stop()


def payloads_json(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=list(payloads)))


async def test_codec_server_decodes_and_encodes_for_the_ui(
    served: tuple[str, EncryptionCodec],
) -> None:
    url, codec = served
    [sealed] = await codec.encode([plain()])
    auth = {"authorization": "Bearer s3cret-token", "origin": UI, "x-namespace": "default"}
    async with httpx.AsyncClient(base_url=url) as http:
        # Mounted under any prefix: only the last part of the path counts.
        decoded = await http.post(
            "/default/decode", content=payloads_json(sealed, plain()), headers=auth
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI
        back = json_format.Parse(decoded.text, Payloads())
        assert list(back.payloads) == [plain(), plain()]
        assert json.loads(back.payloads[0].data) == {"name": "Dana Marker-7431"}

        encoded = await http.post("/encode", content=payloads_json(plain()), headers=auth)
        [sealed_by_server] = json_format.Parse(encoded.text, Payloads()).payloads
        assert sealed_by_server.metadata["encoding"] == ENCODING
        assert await codec.decode([sealed_by_server]) == [plain()]

        preflight = await http.options(
            "/decode",
            headers={
                "origin": UI,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI


async def test_codec_server_refuses_without_token_bad_bodies_and_foreign_origins(
    served: tuple[str, EncryptionCodec],
) -> None:
    url, codec = served
    [sealed] = await codec.encode([plain()])
    async with httpx.AsyncClient(base_url=url) as http:
        no_token = await http.post("/decode", content=payloads_json(sealed))
        assert no_token.status_code == 401
        wrong = await http.post(
            "/decode", content=payloads_json(sealed), headers={"authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        auth = {"authorization": "Bearer s3cret-token"}
        bad = await http.post("/decode", content="{not json", headers=auth)
        assert bad.status_code == 400
        [foreign] = await EncryptionCodec(ring(new_key())).encode([plain()])
        undecodable = await http.post("/decode", content=payloads_json(foreign), headers=auth)
        assert undecodable.status_code == 400
        assert "not among this process's keys" in undecodable.json()["message"]
        assert (await http.post("/other", content="{}", headers=auth)).status_code == 404
        preflight = await http.options(
            "/decode",
            headers={"origin": "http://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers


async def test_encode_is_served_only_when_asked_for() -> None:
    codec = EncryptionCodec(ring(new_key()))
    server = CodecServer(build_app(codec, origins=[UI]), port=0)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            refused = await http.post("/encode", content=payloads_json(plain()))
            assert refused.status_code == 404
            assert refused.json()["message"] == "not found: POST .../decode"
            [sealed] = await codec.encode([plain()])
            decoded = await http.post("/decode", content=payloads_json(sealed))
            assert decoded.status_code == 200
    finally:
        await server.stop()


def test_the_codec_server_refuses_another_address_without_a_token(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKFLOW_CODEC_KEY", new_key())
    monkeypatch.delenv("HOOKFLOW_CODEC_TOKEN", raising=False)
    for host in ("0.0.0.0", "::", "192.0.2.10"):
        code, err = cli.fails("codec-server", "--host", host, "--port", "0")
        assert code == 1
        assert err.strip() == (
            "hookflow: error: the codec server decrypts payloads for whoever reaches it: "
            f"to listen on {host}, set HOOKFLOW_CODEC_TOKEN "
            "(callers send Authorization: Bearer <token>)"
        )
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    check_exposure("0.0.0.0", "a-token")  # with a token: allowed


def test_codec_server_command_serves_until_stopped(tmp_path: Path) -> None:
    key = new_key()
    env = {
        **os.environ,
        "HOOKFLOW_DATA_DIR": str(tmp_path),
        "HOOKFLOW_CODEC_KEY": key,
        "HOOKFLOW_CODEC_TOKEN": "t0ken",
    }
    hookflow = str(Path(sys.executable).parent / "hookflow")
    process = subprocess.Popen(
        [hookflow, "codec-server", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("codec server on http://127.0.0.1:"), line
        url = line.split()[3]
        sealed = asyncio.run(EncryptionCodec(ring(key)).encode([plain()]))
        answer = httpx.post(
            f"{url}/decode",
            content=payloads_json(*sealed),
            headers={"authorization": "Bearer t0ken", "content-type": "application/json"},
            timeout=10,
        )
        assert json_format.Parse(answer.text, Payloads()).payloads[0] == plain()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
