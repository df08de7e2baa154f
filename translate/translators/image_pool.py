"""History of generated images (Shrivastava et al. 2017), used by CycleGAN's discriminators.

Showing the discriminator a mix of current and earlier fakes keeps it from
over-fitting the generator's latest mode. Stored images are kept in fp16 (half the
memory of 50 fp32 images; their values lie in [-1, 1], where fp16 keeps 11 bits, far finer
than the 8-bit images they stand for). Its randomness comes from its own
``torch.Generator`` and its contents are saved with the training state, so a
resumed run continues exactly.
"""
from __future__ import annotations

from typing import Any, Dict, List

import torch


class ImagePool:
    def __init__(self, size: int, seed: int = 0):
        self.size = size
        self.images: List[torch.Tensor] = []
        self.rng = torch.Generator().manual_seed(seed)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch as large as ``images``: each one new, or swapped for a stored one (p=0.5)."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.to(torch.float16))
                out.append(image)
            elif torch.rand(1, generator=self.rng).item() > 0.5:
                slot = int(torch.randint(0, self.size, (1,), generator=self.rng).item())
                out.append(self.images[slot].to(image.dtype))
                self.images[slot] = image.to(torch.float16)
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> Dict[str, Any]:
        return {"images": [i.cpu() for i in self.images], "rng": self.rng.get_state()}

    def load_state_dict(self, state: Dict[str, Any], device: torch.device) -> None:
        self.images = [i.to(device) for i in state["images"]]
        self.rng.set_state(state["rng"])
