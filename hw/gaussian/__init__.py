"""Gaussian baseline units (DESIGN.md 4.4); the contract is in :mod:`pezo.gaussian`."""

from __future__ import annotations

import importlib

from amaranth.lib import wiring

from pezo.config import EngineConfig
from pezo.gaussian import MODULES


def unit(e: EngineConfig) -> wiring.Component:
    """A unit of ``e.source`` (ports ``bits``, ``en``, ``values``)."""
    return importlib.import_module(f"pezo.hw.gaussian.{MODULES[e.source]}").Unit(e)
