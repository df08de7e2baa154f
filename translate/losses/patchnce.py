"""PatchNCE (Park et al. 2020, "Contrastive Learning for Unpaired Image-to-Image Translation").

A patch of the output should look, to the generator's own encoder, more like the patch of the
input at the same place than like any other patch of that input. For ``N`` patches of one image
with L2-normalised query features ``q_i`` (from the output) and key features ``k_j`` (from the
input, the same locations):

    loss = mean_i  -log( exp(q_i . k_i / tau) / sum_j exp(q_i . k_j / tau) )

the cross-entropy of the similarity row ``q_i . k_* / tau`` against the index ``i``: the key at
the same location is the positive, the other ``N - 1`` keys of the same image the negatives.
The reference implementation writes the positive first and masks the diagonal of the negatives
with ``-10`` (``exp(-10 / 0.07)`` ~ 1e-62); the row above is the same loss without the mask.
Keys are constants (detached): only the query side learns, as in the paper.

Shapes: ``query``, ``key``: ``B x N x C`` (B images, N patches, C features). With
``negatives_from_batch`` the B images' patches are one pool of ``B*N`` (the paper's single-image
setting, where a batch holds crops of one picture). Computed in float32 whatever the inputs:
logits divided by 0.07 overflow fp16's exponent range quickly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.registry import LOSSES


def patch_nce_loss(query: Tensor, key: Tensor, temperature: float = 0.07,
                   negatives_from_batch: bool = False) -> Tensor:
    """The PatchNCE loss of ``query`` against ``key`` (both ``B x N x C``), averaged over patches.

    >>> q = torch.eye(2).unsqueeze(0)           # two orthogonal patches
    >>> round(float(patch_nce_loss(q, q, temperature=1.0)), 4)  # -log(e / (e + 1))
    0.3133
    """
    if query.shape != key.shape or query.dim() != 3:
        raise ValueError(f"query and key must both be B x N x C, got {tuple(query.shape)} and {tuple(key.shape)}")
    dtype = torch.promote_types(query.dtype, torch.float32)  # float64 stays float64 (gradcheck)
    query, key = query.to(dtype), key.detach().to(dtype)
    if negatives_from_batch:
        query, key = query.reshape(1, -1, query.shape[-1]), key.reshape(1, -1, key.shape[-1])
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # B x N x N: row i against every key
    targets = torch.arange(logits.shape[1], device=logits.device).expand(logits.shape[0], -1)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


@LOSSES.register("patchnce")
class PatchNCELoss(nn.Module):
    """PatchNCE (CUT): each output patch should match the input patch at its place, not the others.

    ``patch_nce_loss`` with its temperature and negatives set once; see the module docstring.
    """

    def __init__(self, temperature: float = 0.07, negatives_from_batch: bool = False):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = temperature
        self.negatives_from_batch = negatives_from_batch

    def forward(self, query: Tensor, key: Tensor) -> Tensor:
        return patch_nce_loss(query, key, self.temperature, self.negatives_from_batch)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, negatives_from_batch={self.negatives_from_batch}"
