"""The style codes of pix2pixHD's feature encoder: collected in training, clustered per label,
chosen per label at apply time.

In training, every object of every batch leaves its feature vector (the encoder's per-instance
mean, ``translate.nets.instance_features``) in a ``FeatureBank``: per label, the latest
``capacity`` vectors with the share of the image the object covered. When a run saves, the bank is
clustered per label with k-means (SciPy's ``kmeans2``, seeded) into ``FeatureClusters``, which
travel inside the model file (the generator's ``preprocess``), so a model file is all apply needs.
Clusters are ordered by how many objects they hold: cluster 0 is the commonest look of a label.

Which vectors are clustered follows pix2pixHD's ``encode_features.py``: objects covering at least
1/64 of the image (small ones are mostly edges of larger ones); a label whose objects are all
smaller clusters all of them instead of getting no features (pix2pixHD's would read zeros).
Unlike pix2pixHD, which re-encodes every training image with the final encoder in a separate
script, the bank holds the vectors of the latest steps: no extra pass, at the price of vectors
from a slightly earlier encoder (the bank's capacity bounds how much earlier).

At apply time ``FeatureChoice`` says which cluster each label takes (``"26=3,24=1"``; labels not
named take cluster 0), or ``"random"`` (a cluster drawn per object, as pix2pixHD does, seeded).
``feature_map`` paints the chosen vectors over each object of the instance map.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
import torch

from translate.errors import InvalidSettingError

MIN_SHARE = 1 / 64  # pix2pixHD clusters objects of at least (h * w // 32) / 2 pixels
DEFAULT_CLUSTERS = 10  # pix2pixHD's n_clusters
DEFAULT_CAPACITY = 1024  # vectors kept per label


@dataclass
class FeatureClusters:
    """Per label, ``k x channels`` cluster centres (k may differ between labels), commonest first."""

    channels: int
    centres: Dict[int, np.ndarray] = field(default_factory=dict)

    def count(self, label: int) -> int:
        return len(self.centres.get(label, ()))

    def to_record(self) -> Dict[str, Any]:
        """JSON-ready: what a generator's ``preprocess["features"]`` holds."""
        return {"channels": self.channels,
                "clusters": {str(label): [[round(float(v), 6) for v in row] for row in centres]
                             for label, centres in sorted(self.centres.items())}}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "FeatureClusters":
        """The inverse of ``to_record``; the record has been checked (``model_files.preprocess``)."""
        centres = {int(label): np.asarray(rows, np.float32).reshape(-1, int(record["channels"]))
                   for label, rows in dict(record.get("clusters", {})).items()}
        return cls(int(record["channels"]), centres)

    def describe(self) -> str:
        """One line: which labels have how many clusters."""
        if not self.centres:
            return "no feature clusters"
        return "feature clusters per label: " + ", ".join(f"{label}: {len(c)}" for label, c in sorted(self.centres.items()))


class FeatureBank:
    """The latest ``capacity`` feature vectors of each label, with the share of the image each object covered."""

    def __init__(self, num_classes: int, channels: int, capacity: int = DEFAULT_CAPACITY):
        self.num_classes, self.channels, self.capacity = num_classes, channels, capacity
        self.vectors = torch.zeros(num_classes, capacity, channels)
        self.shares = torch.zeros(num_classes, capacity)
        self.filled = torch.zeros(num_classes, dtype=torch.long)  # vectors ever added, per label

    @torch.no_grad()
    def add(self, features: torch.Tensor, labels: torch.Tensor, instances: torch.Tensor) -> None:
        """Every object of a batch: ``features`` B x C x H x W (constant over each instance),
        ``labels`` and ``instances`` B x 1 x H x W ids."""
        b, c, h, w = features.shape
        for item in range(b):
            ids = instances[item].reshape(-1)
            values, first, counts = _first_pixels(ids)
            vectors = features[item].reshape(c, -1)[:, first].t().float().cpu()
            labels_of = labels[item].reshape(-1)[first].long().cpu()
            shares = (counts.float() / (h * w)).cpu()
            for vector, label, share in zip(vectors, labels_of.tolist(), shares):
                if 0 <= label < self.num_classes:
                    slot = int(self.filled[label]) % self.capacity
                    self.vectors[label, slot] = vector
                    self.shares[label, slot] = share
                    self.filled[label] += 1

    def cluster(self, n_clusters: int = DEFAULT_CLUSTERS, seed: int = 0) -> FeatureClusters:
        """k-means per label over the bank (see the module docstring for which vectors)."""
        from scipy.cluster.vq import kmeans2  # SciPy comes with scikit-image

        out = FeatureClusters(self.channels)
        for label in range(self.num_classes):
            held = min(int(self.filled[label]), self.capacity)
            if not held:
                continue
            vectors, shares = self.vectors[label, :held].double().numpy(), self.shares[label, :held].numpy()
            large = vectors[shares >= MIN_SHARE]
            vectors = large if len(large) else vectors
            k = min(n_clusters, len(np.unique(vectors.round(6), axis=0)))
            if k == 1:
                out.centres[label] = vectors.mean(0, keepdims=True).astype(np.float32)
                continue
            centres, assigned = kmeans2(vectors, k, seed=seed, minit="++")
            sizes = np.bincount(assigned, minlength=k)
            keep = [i for i in np.argsort(-sizes, kind="stable") if sizes[i]]  # commonest first, none empty
            out.centres[label] = centres[keep].astype(np.float32)
        return out

    def state_dict(self) -> Dict[str, torch.Tensor]:
        return {"vectors": self.vectors.clone(), "shares": self.shares.clone(), "filled": self.filled.clone()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.vectors.copy_(state["vectors"])
        self.shares.copy_(state["shares"])
        self.filled.copy_(state["filled"])


def _first_pixels(ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(distinct ids, the first pixel of each, the pixel count of each) of a flat id map."""
    values, inverse, counts = torch.unique(ids, return_inverse=True, return_counts=True)
    positions = torch.arange(ids.numel(), device=ids.device)
    first = torch.full((len(values),), ids.numel(), dtype=torch.long, device=ids.device)
    first = first.scatter_reduce(0, inverse, positions, reduce="amin")
    return values, first, counts


_CHOICE = re.compile(r"^\s*(\d+)\s*=\s*(\d+)\s*$")


@dataclass(frozen=True)
class FeatureChoice:
    """Which cluster each label's objects take: ``clusters`` by label (others: 0, the commonest),
    or ``random`` (one drawn per object, seeded by ``seed``)."""

    clusters: Mapping[int, int] = field(default_factory=dict)
    random: bool = False
    seed: int = 0

    @classmethod
    def parse(cls, text: Optional[str], seed: int = 0) -> "FeatureChoice":
        """``"26=3,24=1"``, ``"random"``, or empty (cluster 0 everywhere); one-line errors."""
        text = (text or "").strip()
        if not text:
            return cls(seed=seed)
        if text.lower() == "random":
            return cls(random=True, seed=seed)
        clusters: Dict[int, int] = {}
        for part in text.split(","):
            found = _CHOICE.match(part)
            if not found:
                raise InvalidSettingError(f"--features: {part.strip()!r} is not LABEL=CLUSTER (e.g. 26=3,24=1) "
                                          f"or 'random'")
            clusters[int(found.group(1))] = int(found.group(2))
        return cls(clusters, seed=seed)

    @classmethod
    def of(cls, value: Any) -> "FeatureChoice":
        """The Python API's forms: None, a FeatureChoice, a ``{label: cluster}`` dict, or parse's text."""
        if value is None or isinstance(value, FeatureChoice):
            return value or cls()
        if isinstance(value, Mapping):
            return cls({int(k): int(v) for k, v in value.items()})
        if isinstance(value, str):
            return cls.parse(value)
        raise InvalidSettingError(f"features must be 'LABEL=CLUSTER,...', 'random' or a {{label: cluster}} dict, "
                                  f"not a {type(value).__name__}")

    def check(self, clusters: FeatureClusters) -> None:
        """Refuse a label without clusters or a cluster it does not have, naming what there is."""
        for label, index in sorted(self.clusters.items()):
            have = clusters.count(label)
            if index >= have:
                what = f"has clusters 0-{have - 1}" if have else "has no feature clusters"
                raise InvalidSettingError(f"--features {label}={index}: label {label} {what} ({clusters.describe()})")

    def describe(self) -> str:
        if self.random:
            return f"random feature clusters (seed {self.seed})"
        named = ", ".join(f"{label}={index}" for label, index in sorted(self.clusters.items()))
        return f"feature clusters {named}, cluster 0 elsewhere" if named else "feature cluster 0 for every label"


def feature_map(labels: torch.Tensor, instances: torch.Tensor, clusters: FeatureClusters,
                choice: FeatureChoice = FeatureChoice()) -> torch.Tensor:
    """``B x channels x H x W``: each object of ``instances`` painted with its label's chosen
    centre (zeros for a label without clusters). ``labels``/``instances``: B x H x W ids."""
    b, h, w = labels.shape
    out = torch.zeros(b, clusters.channels, h, w)
    generator = torch.Generator().manual_seed(choice.seed) if choice.random else None
    for item in range(b):
        ids = instances[item].reshape(-1)
        values, first, _ = _first_pixels(ids)
        _, inverse = torch.unique(ids, return_inverse=True)
        labels_of = labels[item].reshape(-1)[first].tolist()
        rows = torch.zeros(len(values), clusters.channels)
        for row, label in enumerate(labels_of):
            have = clusters.count(label)
            if not have:
                continue
            if choice.random:
                index = int(torch.randint(have, (1,), generator=generator))
            else:
                index = min(choice.clusters.get(label, 0), have - 1)
            rows[row] = torch.from_numpy(clusters.centres[label][index])
        out[item] = rows[inverse].t().reshape(clusters.channels, h, w)
    return out
