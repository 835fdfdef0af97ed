"""Re-encrypting stored secrets under the key ring's newest key (``megadesk keys rotate``).

Rows are re-encrypted in batches, each batch its own transaction, so a large table can be
rotated while the app runs and an interrupted rotation resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, func, select

from megadesk_core.db.engine import make_sync_engine
from megadesk_core.db.models import IntegrationInstallation, KeyCanary, utcnow
from megadesk_core.keyring import KeyRing


def rotate_secrets(
    database_url: str, keyring: KeyRing, *, batch_size: int = 500, progress: Callable[[int, int], None] | None = None
) -> int:
    """Re-encrypt every secret not under the primary key; returns how many rows changed."""
    stale = (
        col(IntegrationInstallation.key_id).is_not(None),
        col(IntegrationInstallation.key_id) != keyring.primary_id,
    )
    engine = make_sync_engine(database_url)
    done = 0
    try:
        with Session(engine) as session:
            total = session.exec(select(func.count()).select_from(IntegrationInstallation).where(*stale)).one()
            if session.get(KeyCanary, keyring.primary_id) is None:
                session.add(KeyCanary(key_id=keyring.primary_id, token=keyring.make_canary(keyring.primary_id)))
                session.commit()
            if progress:
                progress(0, total)
            while True:
                rows = session.exec(
                    select(IntegrationInstallation)
                    .where(*stale)
                    .order_by(col(IntegrationInstallation.id))
                    .limit(batch_size)
                ).all()
                if not rows:
                    break
                for row in rows:
                    assert row.secrets_ciphertext is not None
                    plaintext = keyring.decrypt(
                        row.secrets_ciphertext, tenant_id=row.tenant_id, integration=row.integration
                    )
                    row.secrets_ciphertext = keyring.encrypt(
                        plaintext, tenant_id=row.tenant_id, integration=row.integration
                    )
                    row.key_id = keyring.primary_id
                    row.updated_at = utcnow()
                    session.add(row)
                session.commit()
                done += len(rows)
                if progress:
                    progress(done, total)
    finally:
        engine.dispose()
    return done
