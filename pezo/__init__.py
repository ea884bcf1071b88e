"""pezo: perturbation-efficient zeroth-order training hardware, golden models and flows."""

__version__ = "0.1.0"
