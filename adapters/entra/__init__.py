"""Entra ID: the issuer's published signing keys (JWKS) fetched over HTTPS."""
