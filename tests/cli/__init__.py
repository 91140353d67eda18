"""Tests for efficacy.cli."""
