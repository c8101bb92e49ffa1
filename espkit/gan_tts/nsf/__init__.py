"""Harmonic-plus-noise neural source-filter generator."""

from espkit.gan_tts.nsf.nsf_generator import NSFGenerator

__all__ = ["NSFGenerator"]
