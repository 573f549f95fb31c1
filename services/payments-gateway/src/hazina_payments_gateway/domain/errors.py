"""Errors the gateway's rules raise; the API maps them to statuses."""


class GatewayError(Exception):
    """Base of the gateway's domain errors."""


class IllegalTransitionError(GatewayError):
    """The thing asked for does not fit the current state (409, with the current status)."""


class NotRetryableError(GatewayError):
    """The failure is permanent: trying again cannot succeed (409)."""
