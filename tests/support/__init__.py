"""Helpers shared by the test suite: real servers that stand in for products clawsched does not own."""

from __future__ import annotations

from .gateway_stub import GatewayStub, RecordedRequest

__all__ = ["GatewayStub", "RecordedRequest"]
