"""Offline stand-ins for Safaricom Daraja, Apache Fineract / Mifos X and NCBA, over real HTTP."""
