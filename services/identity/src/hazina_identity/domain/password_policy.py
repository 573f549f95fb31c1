"""The minimum password policy: long enough, not the username, not absurdly long."""

from hazina_identity.domain.errors import PasswordPolicyError

MIN_LENGTH = 10
MAX_LENGTH = 128  # argon2 hashes anything, but a megabyte "password" is a denial of service


def check_password(password: str, *, username: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Password must be at most {MAX_LENGTH} characters long")
    if password.strip().lower() == username.strip().lower():
        raise PasswordPolicyError("Password must not be the username")
    if not password.strip():
        raise PasswordPolicyError("Password must not be blank")
