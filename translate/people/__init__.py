"""People: faces (detect, align, track, masks) and poses (estimate, skeletons, render, normalise).

Backends sit behind small interfaces; the default ones use MediaPipe 0.10.14, whose
models ship inside its wheel (nothing is downloaded). Install with the ``people``
extra (``pip install -e .[people]``; ``make test`` and ``make demo`` do it).

Faces: ``faces_detect`` (detector interface, MediaPipe backend), ``faces_choose`` (every
face numbered by ``tracking``, one chosen for a clip by ``choosing``), ``faces_track``
(temporal smoothing), ``faces_align`` (eye-level similarity crops), ``faces_mask`` (soft
masks: face outline, or the head from ``faces_segment``'s person and hand models),
``faces_preview`` (IDs and regions drawn), ``faces_blend`` (paste-back), ``faces_extract``
(crops for training). The face swap itself is a pipeline built from these: ``translate.pipelines.faceswap``
(``translate faceswap``); see docs/faceswap.md.
"""
