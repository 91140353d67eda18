"""Hostile-input property tests (issue 11): mutated sample bundles never crash efficacy."""
