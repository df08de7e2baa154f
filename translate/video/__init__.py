"""Video: decode with PyAV, stream frames through a generator, encode with the audio kept.

``io`` reads (probe, upright frames with timestamps), ``encode`` and ``audio`` write,
``pipeline`` runs decode, model and encode concurrently, ``temporal`` reduces and
measures flicker.
"""
