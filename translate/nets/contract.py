"""What every generator declares about itself, so no caller has to find out by probing.

A registered generator subclasses ``Generator`` (``GENERATORS`` refuses a builder whose
declared return class does not declare the names in ``registry.GENERATOR_CONTRACT``), and
says on its class, or per instance where it depends on the depth:

* ``size_multiple`` (int, class default 1): height and width must be multiples of it; apply
  pads up to it, training refuses crops that are not.
* ``supports_gradient_checkpointing`` (class, bool): whether setting ``gradient_checkpointing``
  recomputes activations in backward (less memory, more compute). As diffusers declares
  ``_supports_gradient_checkpointing``; a translator switches it on only where it is declared.
* ``feature_layers`` (tuple of names, class default empty): the encoder layers whose
  activations ``encode(x, layers)`` returns, one ``B x C x h x w`` tensor per name asked, in the
  order asked. Contrastive translators (CUT) sample patches from them. ``"input"`` is the image.
* ``forward_with_features(x, layers)``: the output and, where the forward pass itself runs the
  encoder stages, their activations at ``layers`` from that same pass (else None: ask ``encode``).
  CUT's PatchNCE keys are the source's features, which translating the source has just computed.
* ``residual_output()``: its ResidualOutput head, or None (U-Net and ResNet may have one).
* ``export_unsupported`` (class, str or None): why it cannot be exported as a fixed graph.
* ``supports_sampling`` (class, bool): whether ``sample(z)`` draws images from noise (CoGAN).

What a generator reads (RGB images, label maps, pose figures) is a property of the trained
model, not of the class: ``GeneratorSpec.input_kind`` says it.
"""
from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, ClassVar, List, Optional, Sequence, Tuple

import torch
from torch import nn

from translate.errors import InvalidSettingError
from translate.nets.layers import run_stages
from translate.nets.residual import ResidualOutput
from translate.registry import GENERATORS

Stage = Tuple[str, Callable[[torch.Tensor], torch.Tensor]]
INPUT_LAYER = "input"


class Generator(nn.Module):
    """Base class of every registered generator: the declared capabilities and their defaults."""

    size_multiple: int = 1
    supports_gradient_checkpointing: ClassVar[bool] = False
    gradient_checkpointing: bool = False  # acts only where supports_gradient_checkpointing
    feature_layers: Tuple[str, ...] = ()
    export_unsupported: ClassVar[Optional[str]] = None
    supports_sampling: ClassVar[bool] = False

    def encode(self, x: torch.Tensor, layers: Sequence[str]) -> List[torch.Tensor]:
        """The encoder's activations at ``layers`` (names from ``feature_layers``), in that order."""
        return collect_features(self.encoder_stages(), x, layers, self.feature_layers, type(self).__name__,
                                self.gradient_checkpointing and self.supports_gradient_checkpointing)

    def encoder_stages(self) -> List[Stage]:
        """The named encoder stages ``encode`` runs in order; a generator with feature layers overrides it."""
        return []

    def forward_with_features(self, x: torch.Tensor,
                              layers: Sequence[str]) -> Tuple[torch.Tensor, Optional[List[torch.Tensor]]]:
        """``self(x)`` and the activations at ``layers`` of that same pass, or None where the forward
        pass does not run ``encoder_stages`` as they are (then ``encode`` computes them)."""
        return self(x), None

    def residual_output(self) -> Optional[ResidualOutput]:
        """Its residual head (``clamp(M(input) + network)``), or None."""
        return None

    def set_gradient_checkpointing(self, on: bool) -> None:
        """Switch checkpointing on or off where the class supports it; a no-op elsewhere (the
        setting has always been a memory hint, ignored by generators that cannot use it)."""
        if self.supports_gradient_checkpointing:
            self.gradient_checkpointing = bool(on)

    def sample(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Corresponding (A, B) images for codes ``z``, where ``supports_sampling``."""
        raise InvalidSettingError(f"{type(self).__name__} translates images and cannot sample from noise")


def collect_features(stages: Sequence[Stage], x: torch.Tensor, layers: Sequence[str], declared: Sequence[str],
                     owner: str, checkpointed: bool = False) -> List[torch.Tensor]:
    """Run ``stages`` (after the ``"input"`` pseudo-layer) until every layer asked for is reached."""
    unknown = [layer for layer in layers if layer not in declared]
    if unknown:
        valid = ", ".join(declared) or "none"
        raise InvalidSettingError(f"{owner} has no feature layer {unknown[0]!r} (declared: {valid})")
    found = {INPUT_LAYER: x} if INPUT_LAYER in layers else {}
    for name, stage in stages:
        if all(layer in found for layer in layers):
            break
        x = run_stages([stage], x, checkpointed)
        if name in layers:
            found[name] = x
    return [found[layer] for layer in layers]


def resnet_stages(stem: nn.Module, down: nn.Sequential, blocks: nn.Sequential) -> List[Stage]:
    """The encoder of a ResNet-layout generator (CycleGAN's, pix2pixHD's global): its 7x7 stem,
    each stride-2 downsampling, each residual block. CUT's default ``nce_layers`` 0,4,8,12,16 on the
    reference's flat Sequential are the image, the two downsampling convs and residual blocks 0
    and 4: here ``("input", "down0", "down1", "block0", "block4")``, taken after each stage's norm
    and ReLU rather than between its layers."""
    return ([("stem", stem)] + [(f"down{i}", m) for i, m in enumerate(down)]
            + [(f"block{i}", m) for i, m in enumerate(blocks)])


def layer_names(stages: Sequence[Stage]) -> Tuple[str, ...]:
    """``feature_layers`` for ``stages``: the input, then every stage by name."""
    return (INPUT_LAYER, *(name for name, _ in stages))


def register_generator(name: str, cls: type, doc: str, **fixed: Any) -> Callable[..., Generator]:
    """Register ``cls`` as generator ``name`` with the options in ``fixed`` set (a preset such as
    ``resnet_9blocks``). The builder takes ``cls``'s keyword arguments minus the fixed ones, so
    ``builder_options`` refuses a fixed option by name, plus any other option, ignored, so that
    one config can build any member of the zoo; ``doc``'s first line is what ``translate models``
    lists."""
    init = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__)
    params = [p.replace(annotation=hints.get(p.name, Any))
              for p in list(init.parameters.values())[1:] if p.name not in fixed]
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD, annotation=Any))
    signature = inspect.Signature(params, return_annotation=cls)

    def builder(*args: Any, **kwargs: Any) -> Generator:
        bound = signature.bind(*args, **kwargs)
        options = {key: value for key, value in bound.arguments.items() if key != "kwargs"}
        return cls(**options, **fixed)

    builder.__signature__ = signature  # type: ignore[attr-defined]
    builder.__annotations__ = {**{p.name: p.annotation for p in params}, "return": cls}
    builder.__name__ = builder.__qualname__ = name
    builder.__module__, builder.__doc__ = cls.__module__, doc
    return GENERATORS.register(name)(builder)
