"""Keeping a store healthy: ``verify`` (checks and repairs) and ``gc``.

The top floor of core: it reads every room below and nothing imports it but the front ends.
"""
