"""Interoperability: published checkpoints in, portable models out.

* ``layouts``: independent statements of the published generators' state-dict layouts
  (keys, shapes, order) and a recogniser that names the architecture of a file;
* ``reference``: safe import of pytorch-CycleGAN-and-pix2pix ``.pth`` files into the
  toolkit's own generators, and the reference test script's train-mode behaviour;
* ``published``: the published model names, their official URLs and what we know of them;
* ``download``: resumable, verified, atomic HTTP download and one-time conversion;
* ``export``: ONNX, TorchScript and safetensors export, each verified against PyTorch.

Submodules are imported on demand: ``translate apply`` on a run folder never pays for ONNX.
"""
