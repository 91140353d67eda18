"""Tests for efficacy.validate."""
