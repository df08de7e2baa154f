"""Translators: networks + generator/discriminator steps, registered by name.

``TRANSLATORS`` imports this package's modules on its first lookup: a new translator
is one new file with its ``@TRANSLATORS.register`` line.
"""
from translate.registry import TRANSLATORS
from translate.translators.base import StepResult

build_translator = TRANSLATORS.get

__all__ = ["TRANSLATORS", "StepResult", "build_translator"]
