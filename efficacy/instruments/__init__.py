"""Instruments: the endpoint catalogue (units, directions, limits) and PRO metadata."""

from efficacy.instruments.catalogue import ENDPOINTS, Endpoint, get_endpoint, normalise_unit

__all__ = ["ENDPOINTS", "Endpoint", "get_endpoint", "normalise_unit"]
