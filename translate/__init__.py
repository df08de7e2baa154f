"""translate: image-to-image translation (pix2pix, CycleGAN and friends) in PyTorch."""
__version__ = "0.1.0"
