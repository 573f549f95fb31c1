"""Staff roles: borrowers never log in, so every user is staff. Who may do what: docs/roles.md."""

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"  # the general branch administrator
    INITIATOR_ADMIN = "initiator_admin"  # maker of maker-checker
    APPROVER_ADMIN = "approver_admin"  # checker of maker-checker
    LOAN_OFFICER = "loan_officer"
    ACCOUNTANT = "accountant"  # records money, nothing else


def parse_role(value: str) -> Role:
    from hazina_identity.domain.errors import UnknownRoleError

    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise UnknownRoleError(f"Unknown role '{value}'; allowed roles: {allowed}") from None
