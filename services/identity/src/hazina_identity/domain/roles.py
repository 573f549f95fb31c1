"""Staff roles (seed 000): borrowers never log in, so every user is staff."""

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    INITIATOR_ADMIN = "initiator_admin"
    APPROVER_ADMIN = "approver_admin"
    LOAN_OFFICER = "loan_officer"


def parse_role(value: str) -> Role:
    from hazina_identity.domain.errors import UnknownRoleError

    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise UnknownRoleError(f"Unknown role '{value}'; allowed roles: {allowed}") from None
