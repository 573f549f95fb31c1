"""What can go wrong in the identity domain, in words a staff member understands."""


class IdentityError(Exception):
    """Base of identity's domain errors."""


class PasswordPolicyError(IdentityError):
    pass


class UnknownRoleError(IdentityError):
    pass


class UserInactiveError(IdentityError):
    pass


class SelfLockoutError(IdentityError):
    """A super admin may not remove their own access: someone must always be able to administer."""
