"""The public Python API: load a model and call it, train from Python, list the zoo.

Everything here is a thin layer over the rooms the CLI also uses, so ``translate apply``
and ``translate.load(...)(image)`` compute the same thing::

    >>> import numpy as np, translate
    >>> g = translate.load("checkpoints/demo_cartoon")         # doctest: +SKIP
    >>> out = g(np.zeros((37, 53, 3), np.uint8))                # doctest: +SKIP
    >>> out.shape                                               # doctest: +SKIP
    (37, 53, 3)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from translate.apply.model import Model

PathLike = Union[str, Path]


def load(path: PathLike, direction: Optional[str] = None, device: Optional[str] = None,
         precision: Optional[str] = None, tile: Union[str, int] = "auto", features: Any = None) -> Model:
    """Load a run folder, a ``.safetensors`` generator or a published ``.pth``; no architecture flags.

    ``direction`` picks AtoB or BtoA in two-way models (default AtoB, or the only one there is);
    ``tile`` is auto (whole, tiles only when an image does not fit in memory), off, or a size;
    ``features`` (pix2pixHD models trained with its feature encoder): the cluster each label takes,
    ``{26: 3}`` or ``"26=3"`` (others: 0, the commonest) or ``"random"``. Returns the one inference object every part of the toolkit runs models through.
    """
    return Model.from_file(path, direction, device, precision, tile, features=features)


def train(translator: str, data: PathLike, steps: Optional[int] = None, name: Optional[str] = None,
          checkpoints_dir: Optional[PathLike] = None, set: Optional[Mapping[str, Any]] = None,
          resume: bool = False, config: Optional[PathLike] = None, **train_keys: Any) -> Path:
    """Train ``translator`` on the dataset folder ``data``; returns the run folder.

    ``set`` overrides any config key (as ``--set`` does: ``{"lambda_cycle": 5}``); other keyword
    arguments are training keys (``size=128``, ``batch_size=4``, ``device="cpu"``, ...). The run is
    the one ``translate train`` makes with the same values.
    """
    from translate.training.loop import train as run_training
    from translate.training.setup import resolve_run

    values = {"data": str(data), "steps": steps, "name": name or Path(data).name,
              "checkpoints_dir": str(checkpoints_dir) if checkpoints_dir is not None else None, **train_keys}
    pairs = [f"{key}={_yaml_value(value)}" for key, value in (set or {}).items()]
    return run_training(resolve_run(translator, values, pairs, config, resume), resume=resume)


def _yaml_value(value: Any) -> str:
    # JSON is YAML: strings, numbers, booleans, lists and dicts arrive with their types.
    return json.dumps(value)


def list_models() -> Dict[str, List[Tuple[str, str]]]:
    """What ``translate models`` prints: (name, one-line summary) per translator, generator,
    discriminator, loss and pipeline.

    >>> zoo = list_models()
    >>> sorted(zoo)
    ['discriminators', 'generators', 'losses', 'pipelines', 'translators']
    >>> "cyclegan" in dict(zoo["translators"]) and "dance" in dict(zoo["pipelines"])
    True
    """
    from translate.pipelines.registry import catalogue

    return catalogue()


__all__ = ["Model", "load", "train", "list_models"]
