"""Every choice the CLI, the config, serve and the API share: allowed values and defaults, once.

A flag's ``choices=``, a config key's ``Rule``, serve's menus and the API's checks read their
names from here, so a list cannot drift between them. The rooms that give a name its meaning
keep their own tables (``devices`` maps a precision to a dtype); tests/test_choices.py holds
them equal to these.

Torch-free and importing nothing of the package: the CLI checks its arguments with these
before it pays for torch (issue 21), and every room may read them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

# Autocast precision. auto: bf16 on CUDA and on CPUs with native bf16, else fp32 (devices.py).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEFAULT_PRECISION = "auto"

# Which generator of a two-way model, or which side of a pair is the input.
DIRECTIONS = ("AtoB", "BtoA")
DEFAULT_DIRECTION = "AtoB"

# Exit codes of the `translate` command.
EXIT_FAILED = 1  # a TranslateError, or a batch where some file failed
EXIT_USAGE = 2  # arguments that do not make sense (argparse's own code too)
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it

# pix2pix/CycleGAN resize to 286 and crop 256; other sizes keep that ratio.
REFERENCE_CROP, REFERENCE_LOAD = 256, 286

# Passes over the training set when neither steps nor epochs are given: the papers'
# 100 constant + 100 decaying epochs.
DEFAULT_EPOCHS = 200

# The translators `train-hd` trains coarse-to-fine.
HD_TRANSLATORS = ("pix2pixhd", "pose2frame")


def default_load_size(size: int) -> int:
    """The resize before a crop of ``size`` when none is given: 256 -> 286, 128 -> 143."""
    return int(round(size * REFERENCE_LOAD / REFERENCE_CROP))


def _as_is(key: str) -> str:
    return key


@dataclass(frozen=True)
class StageSchedule:
    """Epochs of each stage of `train-hd` (translate.pipelines.hd_stages)."""

    global_epochs: int = DEFAULT_EPOCHS  # 100 constant + 100 decaying, as the paper
    local_epochs: int = DEFAULT_EPOCHS  # the local stage, its frozen part included
    fix_global_epochs: int = 10  # local stage epochs with the global trunk frozen (niter_fix_global)
    face_epochs: int = 0  # pose2frame only: the face stage on the finished body model

    def problem(self, translator: str, name: Callable[[str], str] = _as_is) -> Optional[str]:
        """Why this schedule cannot train ``translator``, or None. ``name`` spells a field as the
        caller's user knows it (the CLI: ``face_epochs`` -> ``--face-epochs``)."""
        glob, local, fix, face = (name(k) for k in ("global_epochs", "local_epochs", "fix_global_epochs",
                                                     "face_epochs"))
        if min(self.global_epochs, self.local_epochs) < 1 or not 0 <= self.fix_global_epochs <= self.local_epochs:
            return f"need {glob}, {local} >= 1 and 0 <= {fix} <= {local}"
        if self.face_epochs < 0 or (self.face_epochs and translator != "pose2frame"):
            return f"{face} N (N >= 0) is for {name('translator')} pose2frame"
        return None
