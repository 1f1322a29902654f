"""The address guard refuses the stack's own listening ports whatever networks
are allowed: a tenant's Test button, with loopback allowed, reaches neither
the API itself nor the Temporal frontend, and reads nothing from them."""

from __future__ import annotations

from tests.api.conftest import Api
from worker.devstack.receiver import Receiver


async def test_the_test_button_never_reaches_the_stack(api: Api, receiver: Receiver) -> None:
    frontend = api.settings.temporal_address.rpartition(":")[2]
    targets = {
        "api": f"{api.url}/api/v1/webhooks",
        "frontend": f"http://127.0.0.1:{frontend}/",
        "receiver": receiver.url("/ok"),
    }
    assert any(net.network_address.is_loopback for net in api.settings.allow_networks)
    async with api.http(api.key("acme")) as http:
        results = {}
        for name, url in targets.items():
            made = await http.post(
                "/api/v1/webhooks", json={"alias": name, "type": "form_loaded", "url": url}
            )
            assert made.status_code == 201, made.text
            tested = await http.post(f"/api/v1/webhooks/{made.json()['id']}/test")
            assert tested.status_code == 200, tested.text
            results[name] = tested.json()
    for name in ("api", "frontend"):
        result = results[name]
        assert result["success"] is False and result["status_code"] is None, result
        assert "the stack's own" in result["error"], result
        assert result["response_excerpt"] is None
    assert results["receiver"]["status_code"] == 200
