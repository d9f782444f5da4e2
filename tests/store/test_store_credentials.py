from __future__ import annotations

from medlens.store.credentials import hash_password, hash_token, new_token, token_prefix, verify_password


def test_password_round_trips() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)


def test_wrong_password_fails() -> None:
    assert not verify_password("wrong", hash_password("correct horse battery"))


def test_password_hash_is_salted() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_malformed_hash_fails_closed() -> None:
    assert not verify_password("x", "md5$abc")
    assert not verify_password("x", None)


def test_token_hash_is_sha256_and_not_the_token() -> None:
    token = new_token()
    assert len(hash_token(token)) == 64
    assert token not in hash_token(token)
    assert token.startswith(token_prefix(token))
