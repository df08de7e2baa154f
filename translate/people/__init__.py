"""People: faces (detect, align, track, masks) and poses (estimate, skeletons, render, normalise).

Backends sit behind small interfaces; the default ones use MediaPipe 0.10.14, whose
models ship inside its wheel (nothing is downloaded). Install with the ``people``
extra (``pip install -e .[people]``; ``make test`` and ``make demo`` do it).
"""
