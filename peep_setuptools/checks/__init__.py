"""Checks on archives and environments: metadata, dependency completeness, installed files."""
