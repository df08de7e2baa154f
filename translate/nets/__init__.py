"""Networks only (no training logic): generators, discriminators and shared layers.

Every module registers its networks in ``translate.registry.GENERATORS`` and
``DISCRIMINATORS``, which import this package's modules on their first lookup; build one
by name::

    from translate.nets import build_generator, build_discriminator, init_weights
    G = init_weights(build_generator("unet_256", in_channels=3, out_channels=3))
    D = build_discriminator("patchgan", in_channels=6)
"""
from translate.nets.discriminators import patchgan_receptive_field
from translate.nets.layers import init_weights, norm_layer, padding_layer, set_requires_grad
from translate.registry import DISCRIMINATORS, GENERATORS

build_generator = GENERATORS.build
build_discriminator = DISCRIMINATORS.build

__all__ = [
    "GENERATORS",
    "DISCRIMINATORS",
    "build_generator",
    "build_discriminator",
    "init_weights",
    "set_requires_grad",
    "norm_layer",
    "padding_layer",
    "patchgan_receptive_field",
]
