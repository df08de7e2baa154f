"""Translators: networks + generator/discriminator steps, registered by name."""
from translate.registry import TRANSLATORS
from translate.translators import cyclegan, pix2pix  # noqa: F401  (registration)
from translate.translators.base import StepResult

build_translator = TRANSLATORS.get

__all__ = ["TRANSLATORS", "StepResult", "build_translator"]
