"""Where the head is in a stick figure, and square crops there (pose2frame's face stage).

The head is found in the rendered figure itself, by the fixed colours of the head limbs
(nose-eyes-ears, else neck-nose), rather than from keypoints: the figure has been through
the same resizing, cropping and flipping as the frame, so its head is where the frame's face
is, in training and in transfer alike. Colours are compared by direction (chromaticity), so
a limb darkened by resizing against the black background still matches.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch

from .render import limb_colour

from translate.errors import InvalidSettingError

_FACE_LIMBS = (("nose", "right_eye"), ("right_eye", "right_ear"), ("nose", "left_eye"), ("left_eye", "left_ear"))
_NECK_LIMB = (("neck", "nose"),)
MATCH = 0.995  # cosine between a pixel's colour and a limb colour; neighbouring palette hues stay below it


def _unit_colours(limbs, device) -> torch.Tensor:
    colours = torch.tensor([limb_colour(a, b) for a, b in limbs], dtype=torch.float32, device=device)
    return colours / colours.norm(dim=1, keepdim=True)


def _mask(figures: torch.Tensor, limbs) -> torch.Tensor:
    """(N, H, W) bool: pixels drawn in one of ``limbs``' colours. ``figures`` is NCHW in [-1, 1]."""
    rgb = (figures[:, :3].float() + 1) / 2
    norm = rgb.norm(dim=1, keepdim=True)
    unit = rgb / norm.clamp_min(1e-6)
    cos = torch.einsum("nchw,kc->nkhw", unit, _unit_colours(limbs, figures.device))
    return (cos.amax(1) > MATCH) & (norm[:, 0] > 0.2)


def head_centres(figures: torch.Tensor) -> List[Optional[Tuple[int, int]]]:
    """(x, y) of each figure's head, or None where no head limb is drawn."""
    out: List[Optional[Tuple[int, int]]] = []
    face, neck = _mask(figures, _FACE_LIMBS), _mask(figures, _NECK_LIMB)
    for n in range(figures.shape[0]):
        mask = face[n] if face[n].any() else neck[n]
        if not mask.any():
            out.append(None)
            continue
        ys, xs = torch.nonzero(mask, as_tuple=True)
        out.append((int(xs.float().mean().round()), int(ys.float().mean().round())))
    return out


def box_at(centre: Tuple[int, int], size: int, height: int, width: int) -> Tuple[int, int]:
    """Top-left (x, y) of a ``size`` square around ``centre``, moved inside the image."""
    if size > min(height, width):
        raise InvalidSettingError(f"face crop of {size} px does not fit a {width}x{height} frame; lower face_size")
    x = min(max(centre[0] - size // 2, 0), width - size)
    y = min(max(centre[1] - size // 2, 0), height - size)
    return x, y


def crop(images: torch.Tensor, boxes: List[Tuple[int, int]], size: int) -> torch.Tensor:
    return torch.stack([img[:, y:y + size, x:x + size] for img, (x, y) in zip(images, boxes)])


def paste(images: torch.Tensor, crops: torch.Tensor, boxes: List[Tuple[int, int]]) -> torch.Tensor:
    """A copy of ``images`` with each crop put back at its box (differentiable in ``crops``)."""
    out = images.clone()
    size = crops.shape[-1]
    for n, (x, y) in enumerate(boxes):
        out[n, :, y:y + size, x:x + size] = crops[n]
    return out


def refine(face_net, figures: torch.Tensor, frames: torch.Tensor, size: int):
    """Frames with their faces refined: face = frame crop + face_net(figure crop, frame crop).

    Returns (refined frames, faces, figure crops, boxes, rows with a head); the crops are of the
    rows whose figure shows a head, the others pass through unchanged. The frame crop is
    detached: the face network refines the body generator's output, it does not train it.
    """
    found = [(n, c) for n, c in enumerate(head_centres(figures)) if c is not None]
    if not found:
        return frames, None, None, [], []
    rows = [n for n, _ in found]
    boxes = [box_at(c, size, *frames.shape[2:]) for _, c in found]
    fig_crops = crop(figures[rows], boxes, size)
    body = crop(frames[rows].detach(), boxes, size)
    faces = body + face_net(torch.cat([fig_crops.to(body.dtype), body], 1))
    refined = frames.clone()
    refined[rows] = paste(frames[rows], faces.to(frames.dtype), boxes)
    return refined, faces, fig_crops, boxes, rows
