"""The application layer: the ``pezo`` command (:mod:`pezo.app.cli`), the registry of designs it
generates, simulates and synthesises (:mod:`pezo.app.designs`), ``pezo demo`` and ``pezo doctor``.

It sits above everything (hw, sw, sim, build and the spine) and nothing below imports it.
"""
