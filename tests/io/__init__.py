"""Tests for efficacy.io."""
