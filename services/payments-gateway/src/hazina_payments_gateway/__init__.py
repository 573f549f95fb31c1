"""Hazina payments gateway: M-Pesa Daraja, NCBA and Mifos X behind contract events."""
