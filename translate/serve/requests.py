"""What a request may ask for, checked on the server.

The page's widgets are no defence: anyone who can open the page can post to its endpoints with
any value (``size=8192`` on a 20x20 PNG once held the only model slot for 5.5 minutes and 10.9
GB). So every parameter a request carries is parsed and bounded here: the size by the server's
longest side and pixel limits (the memory estimate is ``ModelCache.check_fits``: it needs the
model), and names (direction, precision) by the tables of what exists. A refusal raises
``RequestError`` with one line for the page.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple

from translate.errors import TranslateError
from translate.serve.safety import UploadLimits

MIN_SIDE = 16  # smaller than any generator's downsampling stack can take


class RequestError(TranslateError, ValueError):
    """A request parameter the server refuses: the message is shown on the page as it is."""


def parse_size(value: Any, limits: UploadLimits) -> Optional[int]:
    """The long side a request asks for, or None to keep the input's size (0, empty).

    Accepts what the page's number box sends (an int, an integral float such as 512.0) and the
    same as text; anything else (negative, fractional, NaN, "abc", True) is refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = _number(value)
    if number is None or not math.isfinite(number) or number != int(number):
        raise RequestError(f"size must be a whole number of pixels, got {value!r}")
    size = int(number)
    if size == 0:
        return None
    if not MIN_SIDE <= size <= limits.max_side:
        raise RequestError(f"size must be 0 (keep the input's size) or between {MIN_SIDE} and "
                           f"{limits.max_side} pixels, got {size}")
    return size


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):  # True is an int to Python, not a size to a person
        return None
    try:
        return float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None


def resized(height: int, width: int, size: Optional[int]) -> Tuple[int, int]:
    """(height, width) after ``resize_long_side(image, size)``; the input's own without a size."""
    if not size:
        return height, width
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def check_output(height: int, width: int, size: Optional[int], limits: UploadLimits, what: str) -> Tuple[int, int]:
    """The size ``what`` will be translated at, refused when over the pixel limit (an upscale of a
    small upload must not get around the limit the upload itself had to pass)."""
    h, w = resized(height, width, size)
    if h * w > limits.max_pixels:
        raise RequestError(f"{what}: size {size} makes it {w}x{h}, over the {limits.max_pixels / 1e6:g} "
                           f"megapixel limit; ask for a smaller size")
    return h, w


def choose(value: Optional[str], allowed: Sequence[str], what: str) -> str:
    """``value`` if it is one of ``allowed``; the first when none is given; else ``RequestError``
    (a silent fallback would run something other than what was asked)."""
    if value is None or value == "":
        return allowed[0]
    if value not in allowed:
        raise RequestError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def largest_side(height: int, width: int, max_pixels: float) -> int:
    """The longest side an image of this shape can be resized to within ``max_pixels``."""
    ratio = max(height, width) / max(1, min(height, width))
    return int(math.sqrt(max(0.0, max_pixels) * ratio))
