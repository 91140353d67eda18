"""Test suite; mirrors the efficacy package."""
