"""Tests for efficacy.mmrm."""
