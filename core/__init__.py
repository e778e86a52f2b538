"""Severity Studio core: everything that is not UI.

Sub-packages by responsibility: ``store`` (the one data-access layer), ``imaging``
(decoding and storing pixels), ``importers``, ``synthetic`` (the demo cohort),
``learning`` (losses, encoders, methods, training, evaluation) and ``worker``.
"""
