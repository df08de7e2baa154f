"""Reading model files someone else wrote: bounds on what they may make the toolkit allocate
(``bounds``), the vocabulary of what their metadata may say (``preprocess``), and pickles read
without running code (``pickles``).

Below ``checkpoint`` in the house: the checkpoint format, the interop importers and ``inspect``
all check a file through this room before they build or read anything it describes.
"""
