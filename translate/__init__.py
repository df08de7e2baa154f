"""translate: image-to-image translation (pix2pix, CycleGAN and friends) in PyTorch.

The public API, imported on first use so that ``import translate`` (and the CLI) stay fast::

    import translate
    g = translate.load("checkpoints/demo_cartoon")    # a run folder, a .safetensors or a published .pth
    out = g(image)                                     # HxWxC uint8 in, same size out
    g.to("cuda", precision="bf16").translate_video("in.mp4", "out.mp4")
    run = translate.train("cyclegan", data="datasets/h2z", steps=20000, set={"lambda_cycle": 5})
    translate.list_models()

Every error a user can cause is a ``translate.TranslateError``.
"""
from translate.errors import TranslateError
from translate.version import __version__

_API = ("Model", "load", "train", "list_models")

__all__ = ["TranslateError", "__version__", *_API]


def __getattr__(name: str):
    # The package root is the facade above every room: it may reach into the API lazily, and
    # no room imports the root (tests/test_house.py keeps it so).
    if name in _API:
        from translate import api

        return getattr(api, name)
    raise AttributeError(f"module 'translate' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
