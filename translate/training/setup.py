"""From a translator's name and the user's values to the ``RunConfig`` the loop trains.

Shared by ``translate train`` and ``translate.train(...)``, so both resolve a run the same
way: the translator's own defaults, the saved config.yaml when resuming, a YAML file, the
explicit values, then ``--set`` pairs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, Optional

from translate import checkpoint as ckpt
from translate.config import ConfigError, RunConfig, TrainConfig, resolve
from translate.registry import TRANSLATORS


def resolve_run(translator: str, values: Dict[str, Any], set_pairs: Iterable[str] = (),
                config: Optional[str] = None, resume: bool = False) -> RunConfig:
    cls = TRANSLATORS.get(translator)
    yaml_paths = []
    if resume:
        name = values.get("name") or TrainConfig.name
        saved = Path(values.get("checkpoints_dir") or TrainConfig.checkpoints_dir) / name / ckpt.CONFIG_FILE
        if not saved.exists():
            raise ckpt.CheckpointError(f"{saved}: nothing to resume (no run named {name!r} there)")
        yaml_paths.append(str(saved))
    if config:
        yaml_paths.append(str(config))
    run = resolve(translator, cls.Options(), yaml_paths, values, list(set_pairs), train_defaults=cls.train_defaults)
    if not run.train.data:
        raise ConfigError("training needs a dataset: give --data DATASET_ROOT (data= in Python)")
    return run
