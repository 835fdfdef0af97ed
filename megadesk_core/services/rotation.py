"""Re-encrypting stored secrets under the key ring's newest key (``megadesk keys rotate``).

Rows are re-encrypted in batches, each batch its own transaction, so a large table can be
rotated while the app runs and an interrupted rotation resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, func, select

from megadesk_core.db.engine import make_sync_engine
from megadesk_core.db.models import IntegrationInstallation, KeyCanary
from megadesk_core.keyring import KeyRing

_MAX_ATTEMPTS = 3


def _given_up(attempts: dict[str, int]) -> list[str]:
    # A row rewritten under an old key again and again (an app process still on the old ring)
    # is left for the next run instead of looping forever.
    return [row_id for row_id, count in attempts.items() if count >= _MAX_ATTEMPTS]


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
            attempts: dict[str, int] = {}
            while True:
                rows = session.exec(
                    select(
                        IntegrationInstallation.id,
                        IntegrationInstallation.tenant_id,
                        IntegrationInstallation.integration,
                        IntegrationInstallation.secrets_ciphertext,
                    )
                    .where(*stale, col(IntegrationInstallation.id).not_in(_given_up(attempts)))
                    .order_by(col(IntegrationInstallation.id))
                    .limit(batch_size)
                ).all()
                if not rows:
                    break
                for row_id, tenant_id, integration, ciphertext in rows:
                    assert ciphertext is not None
                    plaintext = keyring.decrypt(ciphertext, tenant_id=tenant_id, integration=integration)
                    # Only if the row still holds what was read: an admin's save in between wins.
                    changed = session.exec(
                        update(IntegrationInstallation)
                        .where(
                            col(IntegrationInstallation.id) == row_id,
                            col(IntegrationInstallation.secrets_ciphertext) == ciphertext,
                        )
                        .values(
                            secrets_ciphertext=keyring.encrypt(plaintext, tenant_id=tenant_id, integration=integration),
                            key_id=keyring.primary_id,
                        )
                        .execution_options(synchronize_session=False)
                    )
                    if isinstance(changed, CursorResult) and changed.rowcount == 1:
                        done += 1
                    else:
                        attempts[row_id] = attempts.get(row_id, 0) + 1
                session.commit()
                if progress:
                    progress(done, total)
    finally:
        engine.dispose()
    return done
