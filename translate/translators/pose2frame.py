"""pose2frame: Everybody Dance Now's generator, pix2pixHD with temporal smoothing (Chan et al. 2019).

G takes the current stick figure and its own previous output (zeros for the first frame) and
makes the current frame. Training runs on consecutive pairs (x_prev, x) with frames (y_prev, y):
  y'_prev = G(x_prev, 0),  y' = G(x, y'_prev)
and a multi-scale D judges the whole pair with both figures, (x_prev, x, y_prev, y) real vs
(x_prev, x, y'_prev, y') fake, so flicker between frames is something D can see and punish.
Loss_G = LSGAN + 10 feature matching + 10 VGG (on both frames); gradients flow through y'_prev
into the first call, as the pair is judged as one. Preset: pix2pixHD's global generator at
half resolution (``translate train pose2frame``), then ``generator=pix2pixhd_local`` with
``global_weights`` at full resolution, as pix2pixHD's two stages (``translate train-hd
--translator pose2frame``).

Face stage (``face_gan=true``; ``freeze_body=true`` trains it alone on a finished body model, as
the paper does, with ``body_weights`` naming the finished body run): a small ResNet G_face takes a ``face_size`` square around the head (found in the
figure, see ``face_crop``) of the figure and of the generated frame and adds a residual to the
face: face = y' + G_face(x, y'). A PatchGAN D_face judges (figure crop, face crop); the VGG term
(when on) compares the face with the real one. G_face is exported as the ``face`` generator.

The checkpoint records ``input: pose_sequence`` (``translate apply`` refuses it: frames depend
on each other, use ``translate dance``), the figure style and, when the dataset has one, its
pose statistics, so ``translate dance`` needs nothing but the checkpoint and a source video.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Dict, FrozenSet, List, Optional

import torch
from torch import nn

from translate.checkpoint import GeneratorSpec
from translate.config import WIDTH, ConfigError, Rule, TrainConfig, between
from translate.data.hd_pairs import find_hd_sources
from translate.nets import build_discriminator, init_weights, set_requires_grad
from translate.people.poses import face_crop
from translate.data.frame_pairs import FramePairsDataset
from translate.data.pose_record import dataset_record
from translate.registry import TRANSLATORS
from translate.translators.base import (StepResult, WarmStart, build_generator_from_spec, preprocess_config,
                                        preprocess_record)
from translate.translators.pix2pixhd import Pix2PixHD, Pix2PixHDOptions
from translate.translators.terms import predictions

INPUT_KIND = "pose_sequence"


@dataclass
class Pose2FrameOptions(Pix2PixHDOptions):
    input: str = "rgb"  # stick figures are RGB images
    temporal: bool = True  # condition on the previous output; False = plain per-frame pix2pixHD
    face_gan: bool = False  # the face stage: residual G_face + D_face on a crop around the head
    face_size: int = 32  # face crop side in training pixels (a multiple of 4)
    ngf_face: int = 32  # width of the face generator G_face
    face_blocks: int = 5  # residual blocks of G_face
    freeze_body: bool = False  # train only the face networks (the paper's third stage)
    body_weights: Optional[str] = None  # a trained pose2frame run whose generator G starts from (face stage)

    RULES: ClassVar[Dict[str, Rule]] = {
        "face_size": between(8, 16384),
        "ngf_face": WIDTH,
        "face_blocks": between(0, 100),
    }
    ARCHITECTURE: ClassVar[FrozenSet[str]] = frozenset({"temporal", "ngf_face", "face_blocks"})

    def check(self, train: TrainConfig) -> None:
        super().check(train)
        if self.face_gan and self.face_size % 4:
            # The face crop is halved twice by G_face's stride-2 levels.
            raise ConfigError(f"config key 'face_size' must be a multiple of 4; got {self.face_size}")


@TRANSLATORS.register("pose2frame")
class Pose2Frame(Pix2PixHD):
    """Pose stick figures -> frames of one person, pix2pixHD with previous-frame conditioning (Everybody Dance Now)."""

    Options = Pose2FrameOptions

    def __init__(self, opts: Pose2FrameOptions, train):
        super().__init__(opts, train)
        self.face_spec = None
        if opts.face_gan:
            self._add_face_stage(train.channels_a, train.channels_b)
        if opts.freeze_body:
            if not opts.face_gan:
                raise ConfigError("config key 'freeze_body' trains only the face stage: it needs face_gan=true")
            set_requires_grad(self.generators["G"], False)
            set_requires_grad(self.discriminators["D"], False)

    @classmethod
    def _checked(cls, opts: Pose2FrameOptions, train) -> Pose2FrameOptions:
        if opts.input != "rgb":
            raise ConfigError("pose2frame reads RGB stick figures: config key 'input' must be rgb")
        if train.direction != "AtoB":
            raise ConfigError("pose2frame translates figure (A) -> frame (B); direction must be AtoB")
        return opts

    @classmethod
    def _generator_spec(cls, opts: Pose2FrameOptions, train) -> GeneratorSpec:
        # A figure sequence, not pix2pixHD's rgb input: with ``temporal`` G also sees its last frame.
        c_fig, c_out = train.channels_a, train.channels_b
        preprocess = {**preprocess_record(train), **dataset_record(train.data).preprocess(), "input": INPUT_KIND,
                      "figure_channels": c_fig, "temporal": opts.temporal}
        return cls._spec(opts, c_fig + c_out if opts.temporal else c_fig, c_out, preprocess)

    def _discriminator_channels(self) -> int:
        """D judges the pair of frames with both figures when temporal, one (figure, frame) otherwise."""
        one = self.spec.preprocess["figure_channels"] + self.spec.out_channels
        return 2 * one if self.opts.temporal else one

    def warm_starts(self) -> List[WarmStart]:
        starts = super().warm_starts()
        if self.opts.body_weights:
            starts.append(WarmStart(self.opts.body_weights, self._load_body))
        return starts

    def _load_body(self, source: nn.Module, spec: GeneratorSpec) -> None:
        generator = self.generators["G"]
        if (spec.architecture, spec.in_channels) != (self.spec.architecture, self.spec.in_channels):
            raise ConfigError(f"{self.opts.body_weights}: holds a {spec.architecture} generator with "
                              f"{spec.in_channels} input channels; this run builds {self.spec.architecture} with "
                              f"{self.spec.in_channels}: give the same generator options")
        try:
            generator.load_state_dict(source.state_dict())
        except RuntimeError as exc:
            raise ConfigError(f"{self.opts.body_weights}: weights do not fit this run's generator "
                              f"({str(exc).splitlines()[0]})") from None

    def _add_face_stage(self, c_fig: int, c_out: int) -> None:
        o = self.opts
        self.face_spec = GeneratorSpec("resnet", c_fig + c_out, c_out,
                                       {"ngf": o.ngf_face, "n_blocks": o.face_blocks, "norm": o.norm},
                                       {"input": "pose_face", "face_size": o.face_size}, "pose2frame", "face")
        self.generators["G_face"] = build_generator_from_spec(self.face_spec, o)
        d_face = build_discriminator("patchgan", in_channels=c_fig + c_out, ndf=o.ndf, n_layers=2,
                                     norm=o.norm_d or o.norm, spectral_norm=o.spectral_norm)
        self.discriminators["D_face"] = init_weights(d_face, kind=o.init, gain=o.init_gain)

    def generate(self, figure: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """One frame; ``previous`` is the last generated frame, None (zeros) for the first."""
        if not self.opts.temporal:
            return self.generators["G"](figure)
        if previous is None:
            previous = figure.new_zeros(figure.shape[0], self.spec.out_channels, *figure.shape[2:])
        return self.generators["G"](torch.cat([figure, previous], 1))

    def _sequences(self, batch, fake_prev, fake):
        if not self.opts.temporal:
            return torch.cat([batch["A"], batch["B"]], 1), torch.cat([batch["A"], fake], 1)
        figures = torch.cat([batch["A_prev"], batch["A"]], 1)
        real = torch.cat([figures, batch["B_prev"], batch["B"]], 1)
        return real, torch.cat([figures, fake_prev.to(real.dtype), fake.to(real.dtype)], 1)

    def generator_loss(self, batch: Dict[str, torch.Tensor]) -> StepResult:
        o, d = self.opts, self.discriminators["D"]
        fake_prev = self.generate(batch["A_prev"], None) if o.temporal else None
        fake = self.generate(batch["A"], fake_prev)
        real_seq, fake_seq = self._sequences(batch, fake_prev, fake)
        fake_features = d.forward_features(fake_seq)
        logs: Dict[str, torch.Tensor] = {}
        gan = self.adversarial.generator_loss(predictions(fake_features)) * o.lambda_gan
        total = gan
        if self.feature_matching is not None:
            with torch.no_grad():
                real_features = d.forward_features(real_seq)
            fm = self.feature_matching(real_features, fake_features) * o.lambda_feature_matching
            logs["G_fm"] = fm.detach()
            total = total + fm
        total = total + self.extra(fake, batch["B"], logs)
        if fake_prev is not None:
            total = total + self.extra(fake_prev, batch["B_prev"], logs, "_prev")
        logs["G_gan"] = gan.detach()
        fakes = {"fake": fake.detach(), "input": batch["A"]}
        if fake_prev is not None:
            fakes["fake_prev"] = fake_prev.detach()
        if self.face_spec is not None:
            total = total + self._face_loss(batch, fake, logs, fakes)
        return StepResult(total, logs, fakes)

    def _face_loss(self, batch, fake, logs, fakes) -> torch.Tensor:
        refined, faces, fig_crops, boxes, rows = face_crop.refine(self.generators["G_face"], batch["A"], fake,
                                                                  self.opts.face_size)
        if faces is None:
            return fake.new_zeros((), dtype=torch.float32)
        real = face_crop.crop(batch["B"][rows], boxes, self.opts.face_size)
        gan = self.adversarial.generator_loss(self.discriminators["D_face"](torch.cat([fig_crops, faces], 1)))
        logs["G_face"] = gan.detach()
        fakes.update(fake=refined.detach(), face=faces.detach(), face_figure=fig_crops.detach(), face_real=real)
        return gan * self.opts.lambda_gan + self.extra(faces, real, logs, "_face")

    def discriminator_loss(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> StepResult:
        real_seq, fake_seq = self._sequences(batch, fakes.get("fake_prev"), fakes["fake"])
        loss, gp = self.adversarial.judge(self.discriminators["D"], real_seq, fake_seq, self.opts.lambda_gp)
        logs = {"D": loss.detach()} if gp is None else {"D": loss.detach(), "D_gp": gp.detach()}
        if "face" in fakes:
            fig = fakes["face_figure"]
            face_loss, _ = self.adversarial.judge(self.discriminators["D_face"], torch.cat([fig, fakes["face_real"]], 1),
                                                  torch.cat([fig, fakes["face"].to(fig.dtype)], 1), self.opts.lambda_gp)
            logs["D_face"] = face_loss.detach()
            loss = face_loss if self.opts.freeze_body else loss + face_loss
        return StepResult(loss, logs)

    def exported(self):
        out = {"AtoB": (self.generators["G"], self.spec)}
        if self.face_spec is not None:
            out["face"] = (self.generators["G_face"], self.face_spec)
        return out

    def visuals(self, batch: Dict[str, torch.Tensor], fakes: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {"input": batch["A"], "output": fakes["fake"], "target": batch["B"]}

    @classmethod
    def build_dataset(cls, run, split: str = "train"):
        opts, t = run.model, run.train
        sources = find_hd_sources(t.data, split, "rgb")
        c_in = t.channels_a + t.channels_b if opts.temporal else t.channels_a
        with torch.device("meta"):
            multiple = cls._spec(opts, c_in, t.channels_b, {}).build().size_multiple
        pre = preprocess_config(t)
        kwargs = dict(preprocess=pre, train=True, channels_a=t.channels_a, channels_b=t.channels_b,
                      size_multiple=multiple, seed=t.seed)
        if not opts.temporal:
            from translate.data.hd_pairs import HDPairedDataset

            return HDPairedDataset(sources, "rgb", **kwargs)
        return FramePairsDataset(sources, **kwargs)
