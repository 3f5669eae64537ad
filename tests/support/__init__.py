"""Helpers shared by the test suite (servers, builders); plain code, not fixtures."""
