"""One entry point for every model source a user can name.

``translate.checkpoint`` reads the toolkit's own format (run folders and
``.safetensors``); published ``.pth`` files belong to this room, which knows their
layouts. Everything that takes a user's ``--checkpoint`` (apply, eval, export,
the pipelines, ``translate.load``) calls ``load_generator`` here, so the checkpoint
format never needs to know that other formats exist.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from torch import nn

from translate import checkpoint
from translate.checkpoint import GeneratorSpec

REFERENCE_SUFFIXES = (".pth", ".pt")


def load_generator(path: Path, direction: Optional[str] = None, map_location: str = "cpu",
                   metadata: Optional[Dict[str, Any]] = None) -> Tuple[nn.Module, GeneratorSpec]:
    """Rebuild a generator from a run folder, a ``.safetensors`` file or a published ``.pth``
    (``metadata``: a run folder's, already read by the caller)."""
    path = Path(path).expanduser()
    if path.suffix in REFERENCE_SUFFIXES and not path.is_dir():
        # A bare published/reference state dict: its layout is recognised and it is read with
        # weights_only=True (a file that needs code execution is refused).
        from translate.interop.reference import load_reference_generator

        net, spec = load_reference_generator(path, direction)
        return net.to(map_location), spec
    return checkpoint.load_generator(path, direction, map_location, metadata)

