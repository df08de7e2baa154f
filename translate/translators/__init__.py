"""Translators: networks + generator/discriminator steps, registered by name.

Every module in this package is imported (and so registers its translator): a new
translator is one new file.
"""
from translate.registry import TRANSLATORS
from translate.registry_discovery import import_submodules
from translate.translators.base import StepResult

import_submodules(__name__)

build_translator = TRANSLATORS.get

__all__ = ["TRANSLATORS", "StepResult", "build_translator"]
