"""`megadesk recover`: one recovery pass by hand, with the process settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from megadesk_core.cli import main
from megadesk_core.db.engine import Database
from megadesk_core.db.models import IdempotencyRecord, utcnow

SECRET = "sample-secret-token-123"


def _env(settings) -> dict[str, str]:
    return {
        "MEGADESK_DATABASE_URL": settings.resolved_database_url(),
        "MEGADESK_ENCRYPTION_KEYS": settings.encryption_keys.get_secret_value(),
        "MEGADESK_PLUGINS_ALLOW": "sample",
        "MEGADESK_CLAIM_HEARTBEAT_SECONDS": "0.1",
        "MEGADESK_CLAIM_EXPIRY_SECONDS": "1",
    }


async def _recover(settings):
    # The command runs its own event loop (asyncio.run): in a thread, beside this test's loop.
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, main, ["recover"], env=_env(settings), catch_exceptions=False)


async def test_recover_reports_each_pass_and_leaves_what_the_plugin_cannot_tell_unknown(
    megadesk_tenant, megadesk_settings
):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket(
        "T-1", email="ada@example.com", custom_data={"integrations": {"sample": {"contactId": "c-7"}}}
    )
    quiet = await _recover(megadesk_settings)
    assert quiet.exit_code == 0, quiet.output
    assert "recovery: nothing to recover" in quiet.output

    ok = await acme.run_action("T-1", "sample", "add_note", {"target": "c-7", "text": "hi"}, idempotency_key="k1")
    assert ok.status_code == 200, ok.text
    db = Database(megadesk_settings.resolved_database_url())
    try:
        async with db.session() as session:  # as if its process had died mid-action
            await session.exec(
                sa.update(IdempotencyRecord).values(
                    state="running", owner="dead:1:00", heartbeat_at=utcnow() - timedelta(minutes=1)
                )
            )
            await session.exec(sa.text("UPDATE audit_entry SET outcome = 'pending' WHERE action = 'sample.add_note'"))
            await session.commit()
    finally:
        await db.dispose()
    result = await _recover(megadesk_settings)
    assert result.exit_code == 0, result.output
    assert "recovery: 1 unknown" in result.output  # the sample plugin has no recover_action hook
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    (entry,) = [e for e in entries if e["action"] == "sample.add_note"]
    assert entry["outcome"] == "unknown"
    assert "Retrying with the same Idempotency-Key checks" in entry["detail"]
    again = await _recover(megadesk_settings)
    assert "nothing to recover" in again.output or "1 skipped" in again.output  # not asked again
