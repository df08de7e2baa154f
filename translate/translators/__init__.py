"""Translators: networks + generator/discriminator steps, registered by name.

``TRANSLATORS`` imports this package's modules on its first lookup: a new translator
is one new file with its ``@TRANSLATORS.register`` line. The loop builds one with
``translate.training.loop.build_translator``.
"""
from translate.registry import TRANSLATORS
from translate.translators.base import StepResult

__all__ = ["TRANSLATORS", "StepResult"]
