"""The key ring: authenticated encryption bound to tenant and integration, rotation, checks."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from megadesk_core.keyring import KeyConfigurationError, KeyRing, SecretDecryptionError, generate_key_entry
from megadesk_core.settings import Settings


def test_round_trip_and_binding_to_tenant_and_integration():
    ring = KeyRing.from_text(generate_key_entry("a"))
    token = ring.encrypt(b"rk_test_secret", tenant_id="t1", integration="stripe")
    assert b"rk_test_secret" not in token.encode()
    assert ring.decrypt(token, tenant_id="t1", integration="stripe") == b"rk_test_secret"
    with pytest.raises(SecretDecryptionError, match="copied from another tenant or integration"):
        ring.decrypt(token, tenant_id="t2", integration="stripe")
    with pytest.raises(SecretDecryptionError):
        ring.decrypt(token, tenant_id="t1", integration="sample")


def test_old_keys_decrypt_and_the_first_key_encrypts():
    old, new = generate_key_entry("old"), generate_key_entry("new")
    token = KeyRing.from_text(old).encrypt(b"x", tenant_id="t", integration="i")
    rotated = KeyRing.from_text(f"{new},{old}")
    assert rotated.decrypt(token, tenant_id="t", integration="i") == b"x"
    fresh = rotated.encrypt(b"x", tenant_id="t", integration="i")
    assert KeyRing.from_text(new).decrypt(fresh, tenant_id="t", integration="i") == b"x"  # under the first key
    with pytest.raises(SecretDecryptionError, match="no key with id 'old'"):
        KeyRing.from_text(new).decrypt(token, tenant_id="t", integration="i")


def test_a_wrong_key_with_the_same_id_is_caught_by_the_canary():
    ring = KeyRing.from_text(generate_key_entry("k1"))
    canary = ring.make_canary("k1")
    ring.check_canary(canary)
    with pytest.raises(SecretDecryptionError, match="not the key this database was written with"):
        KeyRing.from_text(generate_key_entry("k1")).check_canary(canary)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the key ring is empty"),
        ("nocolon", "must look like 'key_id:base64'"),
        ("k1:dG9vc2hvcnQ", "is not 32 bytes"),
    ],
)
def test_malformed_key_rings_are_clear_errors(text, message):
    with pytest.raises(KeyConfigurationError, match=message):
        KeyRing.from_text(text)


def test_missing_key_names_the_settings_and_the_fix(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    with pytest.raises(KeyConfigurationError, match=r"MEGADESK_ENCRYPTION_KEYS.*megadesk keys generate"):
        KeyRing.from_settings(settings)
    entry = generate_key_entry("env")
    ring = KeyRing.from_settings(Settings(_env_file=None, data_dir=tmp_path, encryption_keys=SecretStr(entry)))
    assert ring.key_ids == ("env",) and "env:" not in repr(ring)


def test_a_key_file_with_comments_is_read_and_a_written_one_is_private_and_never_overwritten(tmp_path):
    import stat

    from megadesk_core.keyring import write_key_file

    newest, older = generate_key_entry("k2"), generate_key_entry("k1")
    commented = tmp_path / "commented.keys"
    commented.write_text(f"# rotated 2026-12\n\n{newest}\n  # the previous key, until 'keys rotate' ran\n{older}\n")
    ring = KeyRing.from_settings(Settings(_env_file=None, encryption_keys_file=commented))
    assert ring.key_ids == ("k2", "k1") and ring.primary_id == "k2"

    written = tmp_path / "data" / "encryption.keys"
    entry = write_key_file(written)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert written.read_text().startswith("# ")  # a comment line first: the file reads back
    assert KeyRing.from_settings(Settings(_env_file=None, encryption_keys_file=written)).key_ids == (
        entry.partition(":")[0],
    )
    before = written.read_text()
    with pytest.raises(FileExistsError):
        write_key_file(written)
    assert written.read_text() == before
