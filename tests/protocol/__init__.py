"""Tests for efficacy.protocol."""
