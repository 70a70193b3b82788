"""Helpers shared by tests: a spec-driven Pulumi stack on the real engine, against a running sandbox."""
