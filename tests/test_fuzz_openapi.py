"""The API against its own OpenAPI document, with schemathesis (property-based requests).

Every operation of ``/schema/openapi.json`` gets generated requests (valid and invalid
parameters, bodies, headers), each sent with an admin token and with an agent token of a tenant
that has a ticket and the sample integration enabled. Every schemathesis check must hold: no
5xx, every status, content type, header and body as the document declares, invalid data
refused and valid data accepted. Fixed seed and a bounded number of examples per operation, so
a run is repeatable and stays within a few minutes (docs/reliability.md says how to go further).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans

from megadesk_core.app import create_app
from megadesk_core.keyring import generate_key_entry
from megadesk_core.services.tenants import Role, create_tenant, create_token
from megadesk_core.services.tickets import upsert_ticket
from megadesk_core.settings import Settings

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("MEGADESK_FUZZ_EXAMPLES", "25"))
"""Generated cases per operation and phase; raise it for a longer local run (docs/reliability.md)."""

SEED = 12

# `format: email` allows any domain; the API, like the help desk, refuses the special-use names
# (.arpa, .local, .invalid...) that no customer has, and its field description says so. Generate
# deliverable-looking addresses, so positive cases test the rest of the request.
schemathesis.openapi.format(
    "email",
    st.builds(
        "{}@{}.{}".format,
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
        st.from_regex(r"[a-z]{1,20}", fullmatch=True),
        st.sampled_from(["com", "org", "io", "de"]),
    ),
)

FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            # The token is ours to send (an admin's, then an agent's); no-token and bad-token
            # requests are the isolation matrix's job (tests/test_tenant_isolation.py).
            "with-security-parameters": False,
            # Unknown query parameters are ignored by design, as most HTTP APIs do.
            "allow-extra-parameters": False,
        }
    }
)


class FuzzTarget:
    def __init__(self, schema: Any, admin: str, agent: str) -> None:
        self.schema = schema
        self.admin = admin
        self.agent = agent


async def _seed_tenant(app: Any) -> tuple[str, str]:
    host = app.state.host
    async with host.database.session() as session:
        tenant = await create_tenant(session, "acme")
        admin = await create_token(session, tenant, Role.ADMIN, "fuzz admin")
        agent = await create_token(session, tenant, Role.AGENT, "fuzz agent")
        await upsert_ticket(
            session,
            tenant.id,
            "T-1",
            requester_email="ada@example.com",
            subject="Invoice",
            custom_data={"integrations": {"sample": {"contactId": "c-7"}}},
        )
    # Connections made on this loop must not be reused on schemathesis's.
    await host.database.dispose()
    return admin, agent


@pytest.fixture
def fuzz_target(tmp_path: Path, megadesk_database_url: str) -> Iterator[FuzzTarget]:
    """The app on SQLite and on PostgreSQL (several 500s were PostgreSQL's alone)."""
    app = create_app(
        Settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            database_url=megadesk_database_url,
            encryption_keys=SecretStr(generate_key_entry("fuzz")),
            plugins_allow=["sample"],
            auto_migrate=True,
        )
    )
    admin, agent = asyncio.run(_seed_tenant(app))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=FUZZ_CONFIG)
    target = FuzzTarget(schema, admin, agent)
    # Settings that pass the plugin's check, so the sample integration is enabled for the agent routes.
    response = schemathesis.python.asgi.get_client(app).put(
        "/api/v1/integrations/sample/settings",
        json={"settings": {"api_token": "fuzz-token-123"}, "enabled": True},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert response.status_code == 200, response.text
    try:
        yield target
    finally:
        shutdown_lifespans()


ENDLESS_OPERATIONS = {"streamSidebars"}
"""A valid request opens a stream that stays open (tests/test_webhooks_and_stream.py tests it)."""


def _operations(schema: Any) -> list[Any]:
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.definition.raw.get("operationId") not in ENDLESS_OPERATIONS]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_for_admin_and_agent(fuzz_target: FuzzTarget, mode: GenerationMode) -> None:
    """One hypothesis run per operation; every failure is collected, so one run shows them all."""
    failures: list[str] = []
    sent = [0]
    operations = _operations(fuzz_target.schema)
    assert len(operations) >= 15, "the document lost operations"
    for operation in operations:

        @seed(SEED)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            print_blob=False,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            for token in (fuzz_target.admin, fuzz_target.agent):
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
                sent[0] += 1

        try:
            check()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, f"{operation.label}: no valid request can be generated"
            # Nothing in the operation can be made invalid (no parameters, no body).
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    print(f"\nfuzz {mode.value}: {sent[0]} requests over {len(operations)} operations")  # docs/reliability.md
    assert not failures, "\n\n".join(failures)
