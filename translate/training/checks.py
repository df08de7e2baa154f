"""What a run refuses before it writes a file, beyond its config's own rules: settings that
are valid alone but not with this data (a batch larger than the training set) or with the saved
run it resumes (a changed architecture, weights that do not fit). Each is one line for the user.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict

from translate import checkpoint as ckpt
from translate.config import ConfigError, RunConfig, TrainConfig, architecture_keys, load_yaml
from translate.training.trainer import Trainer, TrainingError
from translate.translators.base import NetworkOptions


def check_batch_fits(t: TrainConfig, images: int, world_size: int) -> None:
    """A batch larger than the training set would repeat images to fill itself: 100000 on 6
    images read 100000 images a step and showed no step in minutes. Refused, naming what fits.
    (A batch that fits the data but not the device is the step's out-of-memory error.)"""
    if t.batch_size * world_size <= images:
        return
    processes = f" on each of {world_size} processes" if world_size > 1 else ""
    fits = images // world_size
    advice = f"use --batch-size {fits} or less" if fits else "use fewer processes"
    raise ConfigError(f"config key 'batch_size' is {t.batch_size}{processes} but the training set has {images} "
                      f"images: {advice}")


def check_network_sizes(translator_cls, run: RunConfig) -> None:
    """Build the run's networks on the meta device (shapes only, nothing allocated) and refuse
    them over the parameter bound every model file is held to: `--set ngf=4096` is a valid width
    alone but a 46 G-parameter ResNet, and building it for real would exhaust any machine."""
    import torch

    from translate.model_files.bounds import PARAMETER_LIMIT, gib

    try:
        with torch.device("meta"):
            probe = translator_cls(run.model, run.train)
    except Exception:  # noqa: BLE001  a translator that cannot be built is refused by the real build, in one line
        return
    nets = [*probe.generators.values(), *probe.discriminators.values()]
    count = sum(p.numel() for net in nets for p in net.parameters())
    if count > PARAMETER_LIMIT:
        raise ConfigError(f"{run.translator}: these settings build networks of {count:,} parameters ({gib(count * 4)} "
                          f"in fp32, several times that while training), over the limit of {PARAMETER_LIMIT:,}; "
                          f"lower ngf, ndf or the block counts")


def refuse_unapplied_settings(translator_cls, run: RunConfig) -> None:
    """A setting is applied or refused: ``diff_augment`` on a translator whose discriminator steps
    do not go through DiffAugment (``applies_diff_augment``) would be silently ignored."""
    if isinstance(run.model, NetworkOptions) and run.model.diff_augment and not translator_cls.applies_diff_augment:
        raise ConfigError(f"config key 'diff_augment' is not applied by {run.translator} (pix2pix and cyclegan "
                          f"apply it): remove it")


# TrainConfig keys that shape the networks (the translator's own are its Options.ARCHITECTURE).
_TRAIN_ARCHITECTURE = frozenset({"channels_a", "channels_b"})


def refuse_architecture_changes(folder: Path, run: RunConfig) -> None:
    """A resumed run loads weights shaped by its saved config: a key that shapes the networks
    keeps its saved value, or the load would fail with torch's size-mismatch traceback."""
    saved_file = folder / ckpt.CONFIG_FILE
    if not saved_file.exists():
        return  # nothing to compare; the weights' own check (load_state) still stands
    saved = load_yaml(saved_file)
    asked = {**dataclasses.asdict(run.train), **dataclasses.asdict(run.model)}
    for key in sorted(architecture_keys(type(run.model)) | _TRAIN_ARCHITECTURE):
        if key in saved and key in asked and saved[key] != asked[key]:
            raise ConfigError(f"--resume: {key} is {saved[key]} in the saved run, {asked[key]} was asked; "
                              f"architecture keys cannot change on resume")


def load_state(trainer: Trainer, state: Dict[str, Any], folder: Path) -> None:
    """The saved training state into ``trainer``; weights that do not fit are one line. A backstop
    for shapes no architecture key names (CoGAN's depth follows --size)."""
    try:
        trainer.load_state_dict(state)
    except (RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:240]
        raise TrainingError(f"--resume: the weights saved in {folder} do not fit the networks this run builds "
                            f"({detail}); resume with the settings the run was saved with") from None
