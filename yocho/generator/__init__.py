"""Synthetic portfolio generator: realistic landing files plus the ground truth behind them."""
from yocho.generator.run import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
