"""Offline checks of terraform/: fmt, the provider's own schema, structure, checkov."""
