"""The bounds of what one apply request may ask for, checked where every caller passes.

The CLI, the Python API, the pipelines and ``translate serve`` all build ``BatchOptions`` or
``VideoOptions``; their ``__post_init__`` checks each field against these bounds, so a value
out of range is one line naming the setting, never a hang or an allocation nothing planned for.
"""
from __future__ import annotations

import math
from typing import Optional, Type, Union

from translate.errors import InvalidSettingError, TranslateError

# A batch holds decoded images of one size: 256 of them is more than any GPU fits at photo sizes.
MAX_BATCH = 256
# The long side a request may resize to: 16384 px is 268 megapixels at square, over any camera.
MAX_SIZE = 16384
# Output frame rates above this are not video any player shows; the resampler repeats frames.
MAX_FPS = 240

Number = Union[int, float]


def check_range(name: str, value: Optional[Number], low: Number, high: Number, allow_none: bool = True,
                error: Type[TranslateError] = InvalidSettingError) -> None:
    """Refuse ``value`` outside [low, high] (NaN too) with one line naming the setting ``name``;
    ``error``: the CLI's argument check raises its UsageError (exit 2) with the same words."""
    if value is None:
        if allow_none:
            return
        raise error(f"{name} needs a value between {low} and {high}")
    number = float(value)
    if math.isnan(number) or not low <= number <= high:
        raise error(f"{name} must be between {low} and {high}, got {value}")
