"""The minimum password policy: long enough, not the username, not absurdly long."""

from hazina_identity.domain.errors import PasswordPolicyError

MIN_LENGTH = 10
MAX_LENGTH = 128  # argon2 hashes anything, but a megabyte "password" is a denial of service

# The initial password Dhamira's staff pages tell the super admin to hand over (the create-admin
# page sends it, the loan-officers page assumes it). Accepted below the policy only as the first
# password of an account made through those pages; the person is told to change it, and every
# later password must meet the policy.
STAFF_PAGES_INITIAL_PASSWORD = "12345678"  # noqa: S105  # pragma: allowlist secret


def check_password(password: str, *, username: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"Password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"Password must be at most {MAX_LENGTH} characters long")
    if password.strip().lower() == username.strip().lower():
        raise PasswordPolicyError("Password must not be the username")
    if not password.strip():
        raise PasswordPolicyError("Password must not be blank")
