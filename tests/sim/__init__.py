"""Tests for efficacy.sim."""
