"""Plumbing shared by Hazina services: no business rules live here."""
