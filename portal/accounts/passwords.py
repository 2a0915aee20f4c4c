"""Password hashing (argon2id) and generated initial passwords."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id profile (19 MiB, 2 passes): ~40 ms here, so a roster of a
# thousand members hashes in under a minute and a login stays cheap.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

# No 0/O, 1/l/I: the password is read off paper and typed on a phone.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"

MIN_LENGTH = 8


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length=10):
    """A random password that is easy to copy from a printed sheet."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
