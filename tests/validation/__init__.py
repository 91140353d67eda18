"""Tests for efficacy.validation."""
