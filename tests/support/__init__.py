"""Test helpers shared by the unit, contract and integration suites."""
