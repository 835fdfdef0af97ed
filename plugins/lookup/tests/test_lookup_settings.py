"""Tenant settings: what an admin may enter, and what the settings check finds out."""

from __future__ import annotations

import pytest
from lookup_backend import API_KEY, REVOKED_KEY, BackendState, closed_port_url
from megadesk_lookup.settings import LookupSettings
from pydantic import ValidationError

from megadesk_core.testing import TenantClient, TenantFactory


@pytest.mark.parametrize(
    "url",
    [
        "https://backoffice.example.com/api",
        "https://backoffice.example.com/api/",
        "http://localhost:8080",  # valid in form; where it may point is the next test's business
        "http://127.0.0.1:9/x",
    ],
)
def test_well_formed_urls_are_accepted(url: str) -> None:
    settings = LookupSettings(base_url=url, api_key="k")
    assert settings.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://backoffice.example.com", "https URL"),
        ("backoffice.example.com", "https URL"),
        ("https://user:pw@backoffice.example.com", "user name or password"),
        ("https://backoffice.example.com/api?key=1", "query string"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match="base_url") as info:
        LookupSettings(base_url=url, api_key="k")
    assert reason in str(info.value)


def test_a_blank_key_is_refused_and_a_pasted_newline_is_dropped() -> None:
    with pytest.raises(ValidationError, match="api_key"):
        LookupSettings(base_url="https://x.example", api_key="  \n")
    assert LookupSettings(base_url="https://x.example", api_key=" k-1\n").api_key.get_secret_value() == "k-1"


async def test_the_key_is_a_write_only_secret(megadesk_configured_tenant: TenantClient) -> None:
    tenant = megadesk_configured_tenant
    read_back = await tenant.client.get("/api/v1/integrations/lookup/settings", headers=tenant.admin_headers)
    assert read_back.json()["secrets"] == {"api_key": True}
    assert API_KEY not in read_back.text


async def test_a_key_the_api_rejects_is_not_saved(
    megadesk_tenant: TenantFactory, backend_url: str, backend: BackendState
) -> None:
    tenant = await megadesk_tenant("acme")
    response = await tenant.put_settings("lookup", {"base_url": backend_url, "api_key": REVOKED_KEY})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "api_key"
    assert "rejected the API key (HTTP 401)" in error["message"]
    assert REVOKED_KEY not in response.text
    # the check sent the key as a bearer token and searched for an address that cannot exist
    assert backend.requests[-1]["authorization"] == f"Bearer {REVOKED_KEY}"
    assert backend.requests[-1]["query"] == {"email": "megadesk-settings-check@example.invalid"}


async def test_a_base_url_that_is_not_the_api_root_is_pointed_out(
    megadesk_tenant: TenantFactory, backend_url: str, backend: BackendState
) -> None:
    tenant = await megadesk_tenant("acme")
    response = await tenant.put_settings("lookup", {"base_url": backend_url + "/v2", "api_key": API_KEY})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "base_url"
    assert "root of your customer API" in error["message"]


async def test_an_unreachable_api_refuses_the_settings_and_saves_nothing(megadesk_tenant: TenantFactory) -> None:
    tenant = await megadesk_tenant("acme")
    response = await tenant.put_settings("lookup", {"base_url": closed_port_url(), "api_key": API_KEY})
    assert response.status_code == 503, response.text
    problem = response.json()
    assert problem["code"] == "settings_unchecked"
    assert "could not be checked now" in problem["detail"] and "cannot be reached" in problem["detail"]
    assert "nothing was saved" in problem["detail"]
    stored = await tenant.client.get("/api/v1/integrations/lookup/settings", headers=tenant.admin_headers)
    assert stored.json()["configured"] is False


FULL_WIDTH_EXAMPLE = "\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45"  # "example" in full-width letters


@pytest.mark.security
@pytest.mark.parametrize("url", ["https://0177.0.0.1/api", f"https://{FULL_WIDTH_EXAMPLE}.com/api"])
async def test_a_host_the_client_cannot_parse_is_a_422_naming_base_url(
    megadesk_tenant: TenantFactory, url: str
) -> None:
    # An octal address and full-width letters passed the form checks and failed in httpx: a 500.
    tenant = await megadesk_tenant("acme")
    response = await tenant.put_settings("lookup", {"base_url": url, "api_key": "k-12345"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["base_url"]
    assert "is not a URL the server can send requests to" in response.json()["errors"][0]["message"]
