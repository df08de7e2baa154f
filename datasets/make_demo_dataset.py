"""Build the demo datasets offline, from scikit-image's bundled photos (and a few from other packages).

    python datasets/make_demo_dataset.py [--out datasets/demo_cartoon] [--size 128] [--count 200]
    python datasets/make_demo_dataset.py --unpaired --rendering comic --out datasets/demo_comic_unpaired

A is a crop of a real photo; B is a deterministic OpenCV cartoon of that crop (`cartoonize`):
edge-preserving smoothing, flat bands of lightness with the colour kept, and dark outlines; or,
with --rendering comic, that cartoon toned like an old print (`comic`). --unpaired writes the
CycleGAN layout (trainA/ photos, trainB/ renderings of other crops) with a paired test split.
Every operation is local, so the mapping is the same wherever a crop comes from and a small U-Net
learns it in a few thousand steps. Pairs are written side by side (A|B), the pix2pix layout:
    OUT/train/*.png   crops of the training photos at a couple of scales
    OUT/test/*.png    crops of photos never used for training (coffee, rocket)
It also writes a few held-out photos as JPEGs into --samples-dir for the demo to translate.
Everything is a function of --seed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script from anywhere, without installing the package
    sys.path.insert(0, str(REPO_ROOT))

from translate.data.io import write_image  # noqa: E402

# Photos with natural texture, faces, fur and colour for training; the test split and the samples
# come only from HELD_OUT, so the demo shows generalisation, not memory.
TRAIN_PHOTOS = (
    "astronaut", "chelsea", "immunohistochemistry", "hubble_deep_field", "retina", "stereo_motorcycle", "logo",
)
HELD_OUT_PHOTOS = ("coffee", "rocket")
# scikit-image's greyscale photos (as grey RGB), for --photos: more scenes and textures, and
# neutral colours the cartoon must keep neutral.
GREY_PHOTOS = ("camera", "brick", "grass", "gravel", "coins", "moon", "clock")

# Real photos that ship inside packages the toolkit installs (make install), for more scenes: a
# portrait, a tower against a blue sky (the demo's first model darkened skies: scikit-image has
# few), big cats. (name -> (package, path inside it)); used only when named in --photos.
PACKAGE_PHOTOS = {
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    "tower": ("gradio", "media_assets/images/tower.jpg"),
    "cheetah": ("gradio", "media_assets/images/cheetah.jpg"),
    "cheetah_cub": ("gradio", "test_data/cheetah2.jpg"),
    "lion": ("gradio", "media_assets/images/lion.jpg"),
}

# Crop side as a multiple of --size: 1 keeps fine detail, 2 shows whole objects at lower detail.
CROP_SCALES = (1.0, 2.0)

# (name, photo, (top, left, height, width) as fractions of the photo or None for all of it).
SAMPLES = (
    ("coffee", "coffee", None),
    ("rocket", "rocket", None),
    ("coffee_cup", "coffee", (0.05, 0.25, 0.75, 0.55)),
    ("rocket_tower", "rocket", (0.0, 0.3, 0.9, 0.4)),
)
SAMPLE_LONG_SIDE = 256
SAMPLE_JPEG_QUALITY = 90

NAME_PREFIX = "demo_"  # only files with this prefix are replaced on a re-run


def _package_photo(name: str) -> np.ndarray:
    import importlib.util

    package, relative = PACKAGE_PHOTOS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"photo {name!r} ships inside the {package} package, which is not installed "
                         f"(make install installs it)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"photo {name!r}: {path} is missing or unreadable (another {package} version?)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_photo(name: str) -> np.ndarray:
    """A bundled sample photo as uint8 RGB (alpha composited over white): scikit-image's by name,
    or one of PACKAGE_PHOTOS."""
    if name in PACKAGE_PHOTOS:
        return _package_photo(name)
    from skimage import data

    img = getattr(data, name)()
    if isinstance(img, tuple):  # stereo_motorcycle -> (left, right, disparity): keep the left view
        img = img[0]
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        img = np.rint(img[:, :, :3] * alpha + 255.0 * (1.0 - alpha))
    return np.ascontiguousarray(img[:, :, :3].astype(np.uint8))


@dataclass(frozen=True)
class CartoonStyle:
    smooth_passes: int = 3  # repeated small bilateral filters flatten texture but keep edges
    smooth_sigma_color: float = 30.0
    lightness_levels: int = 6  # flat shading bands
    chroma_gain: float = 1.25  # cartoons are a little more saturated than photos
    edge_block: int = 9  # adaptive-threshold neighbourhood (odd), in pixels of the output
    edge_offset: float = 6.0  # higher -> fewer, stronger outlines
    edge_median: int = 5  # median blur before thresholding: removes speckle from fur and wood grain
    edge_darkness: float = 0.2  # outlines keep 20% of the colour underneath: dark, not pure black


def cartoonize(rgb: np.ndarray, style: CartoonStyle = CartoonStyle()) -> np.ndarray:
    """Deterministic cartoon of a uint8 RGB image (same size)."""
    smooth = rgb
    for _ in range(style.smooth_passes):
        smooth = cv2.bilateralFilter(smooth, d=5, sigmaColor=style.smooth_sigma_color, sigmaSpace=3)

    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB).astype(np.float32)
    step = 256.0 / style.lightness_levels
    lab[:, :, 0] = (np.floor(lab[:, :, 0] / step) + 0.5) * step
    lab[:, :, 1:] = (lab[:, :, 1:] - 128.0) * style.chroma_gain + 128.0
    flat = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)

    # Outlines come from the smoothed image: from the raw photo they trace texture, not shapes.
    grey = cv2.medianBlur(cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY), style.edge_median)
    # THRESH_BINARY leaves 0 where a pixel is darker than its neighbourhood mean by edge_offset:
    # the dark side of every contour, which is where an artist draws the line.
    edges = cv2.adaptiveThreshold(
        grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, style.edge_block, style.edge_offset
    )
    shade = np.where(edges[:, :, None] > 0, 1.0, style.edge_darkness)
    return np.clip(np.rint(flat * shade), 0, 255).astype(np.uint8)


# The sepia toning matrix (rows: output R, G, B), as photo editors define it.
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)


@dataclass(frozen=True)
class ComicStyle:
    sepia: float = 0.6  # share of sepia in the colour mix: warm and faded, but still invertible
    paper_black: float = 28.0  # printed ink never reaches black, nor paper white: the tones sit
    paper_white: float = 240.0  # between these two values (of 255)


def comic(rgb: np.ndarray, style: ComicStyle = ComicStyle()) -> np.ndarray:
    """A vintage comic print of a uint8 RGB image: the cartoon (flat bands, dark outlines), toned
    towards sepia and printed between paper black and paper white. Far enough from the photo
    (colour and structure) that returning the input scores poorly; an unpaired model can learn
    the toning in minutes and the outlines with more steps, in both directions (the colour mix
    is an invertible matrix)."""
    mix = (1.0 - style.sepia) * np.eye(3, dtype=np.float32) + style.sepia * SEPIA
    toned = np.clip(cartoonize(rgb).astype(np.float32) @ mix.T, 0.0, 255.0)  # sepia's rows sum above 1
    printed = style.paper_black + toned * (style.paper_white - style.paper_black) / 255.0
    return np.clip(np.rint(printed), 0, 255).astype(np.uint8)


# The renderings a dataset's B side can be drawn with (--rendering).
RENDERINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"cartoon": cartoonize, "comic": comic}


def random_crop(photo: np.ndarray, size: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """A square crop of side size*scale (or the largest that fits), resized to size x size."""
    h, w = photo.shape[:2]
    side = min(int(round(size * scale)), h, w)
    top = int(rng.integers(0, h - side + 1))
    left = int(rng.integers(0, w - side + 1))
    crop = photo[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def write_split(
    folder: Path,
    photos: dict[str, np.ndarray],
    count: int,
    size: int,
    rng: np.random.Generator,
    make_target: Callable[[np.ndarray], np.ndarray] = cartoonize,
    scales: tuple = CROP_SCALES,
) -> list[Path]:
    """`count` side-by-side A|B pairs, cycling through the photos and the crop scales."""
    for old in folder.glob(f"{NAME_PREFIX}*.png"):
        old.unlink()
    names = sorted(photos)
    written = []
    for i in range(count):
        name = names[i % len(names)]
        scale = scales[(i // len(names)) % len(scales)]
        a = random_crop(photos[name], size, scale, rng)
        path = folder / f"{NAME_PREFIX}{i:04d}_{name}.png"
        write_image(path, np.concatenate([a, make_target(a)], axis=1))
        written.append(path)
    return written


def write_singles(folder: Path, images: list[np.ndarray]) -> list[Path]:
    """One PNG per image (the unpaired layout's trainA/ and trainB/); replaces earlier ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{NAME_PREFIX}*.png"):
        old.unlink()
    return [write_image(folder / f"{NAME_PREFIX}{i:04d}.png", image) for i, image in enumerate(images)]


def write_unpaired(root: Path, photos: dict[str, np.ndarray], count: int, size: int, a_rng: np.random.Generator,
                   b_rng: np.random.Generator, make_target: Callable[[np.ndarray], np.ndarray] = cartoonize,
                   scales: tuple = CROP_SCALES) -> list[Path]:
    """CycleGAN's layout: trainA/ photo crops and trainB/ renderings of *other* crops (other photos,
    other positions and scales, shuffled), so no A has its own B anywhere in the data. Returns
    the files written, A's then B's."""
    names = sorted(photos)
    photos_a = [random_crop(photos[names[i % len(names)]], size, scales[(i // len(names)) % len(scales)], a_rng)
                for i in range(count)]
    renders_b = [make_target(random_crop(photos[names[(i + 3) % len(names)]], size,
                                         scales[(i // len(names) + 1) % len(scales)], b_rng)) for i in range(count)]
    b_rng.shuffle(renders_b)
    return write_singles(root / "trainA", photos_a) + write_singles(root / "trainB", renders_b)


def write_samples(folder: Path, photos: dict[str, np.ndarray]) -> list[Path]:
    written = []
    for name, photo_name, box in SAMPLES:
        img = photos[photo_name]
        if box is not None:
            h, w = img.shape[:2]
            top, left, bh, bw = box
            img = img[int(top * h) : int((top + bh) * h), int(left * w) : int((left + bw) * w)]
        scale = SAMPLE_LONG_SIDE / max(img.shape[:2])
        out_wh = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
        img = cv2.resize(img, out_wh, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        written.append(write_image(folder / f"{name}.jpg", img, jpeg_quality=SAMPLE_JPEG_QUALITY))
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "datasets" / "demo_cartoon", help="dataset folder")
    parser.add_argument("--size", type=int, default=128, help="side of each half (A and B), pixels")
    parser.add_argument("--count", type=int, default=200, help="number of training pairs")
    parser.add_argument("--test-count", type=int, default=24, help="number of test pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photos", default=",".join(TRAIN_PHOTOS),
                        help=f"training photos (scikit-image names; also {', '.join(GREY_PHOTOS)}; "
                             f"and, from installed packages, {', '.join(PACKAGE_PHOTOS)})")
    parser.add_argument("--unpaired", action="store_true",
                        help="CycleGAN layout: trainA/ photos and trainB/ renderings of other crops "
                             "(the test split stays paired, so both directions can be scored)")
    parser.add_argument("--rendering", choices=sorted(RENDERINGS), default="cartoon",
                        help="what B is: cartoon (flat colours, dark outlines) or comic (the cartoon "
                             "toned like an old print)")
    parser.add_argument("--scales", default=",".join(map(str, CROP_SCALES)),
                        help="crop sides as multiples of --size, cycled through (default 1,2)")
    parser.add_argument(
        "--samples-dir", default=str(REPO_ROOT / "datasets" / "samples"),
        help="where the held-out sample photos go ('' to skip them)",
    )
    args = parser.parse_args(argv)
    if args.size < 16 or args.count < 1 or args.test_count < 0:
        parser.error("--size must be >= 16, --count >= 1 and --test-count >= 0")
    args.photos = tuple(p.strip() for p in args.photos.split(",") if p.strip())
    args.scales = tuple(float(x) for x in args.scales.split(",") if x.strip())
    if set(args.photos) & set(HELD_OUT_PHOTOS) or not args.photos or not args.scales or min(args.scales) <= 0:
        parser.error(f"--photos must name training photos (not {', '.join(HELD_OUT_PHOTOS)}) and --scales be > 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, list[Path]]:
    args = parse_args(argv)
    train_photos = {name: load_photo(name) for name in args.photos}
    held_out = {name: load_photo(name) for name in HELD_OUT_PHOTOS}
    # Separate streams per split, so changing --count does not change the test set.
    train_rng, test_rng = (np.random.default_rng(np.random.SeedSequence([args.seed, k])) for k in (0, 1))

    render = RENDERINGS[args.rendering]
    if args.unpaired:
        train = write_unpaired(args.out, train_photos, args.count, args.size, train_rng,
                               np.random.default_rng(np.random.SeedSequence([args.seed, 2])), render, args.scales)
    else:
        (args.out / "train").mkdir(parents=True, exist_ok=True)
        train = write_split(args.out / "train", train_photos, args.count, args.size, train_rng, render, args.scales)
    (args.out / "test").mkdir(parents=True, exist_ok=True)
    written = {
        "train": train,
        "test": write_split(args.out / "test", held_out, args.test_count, args.size, test_rng, render),
        "samples": write_samples(Path(args.samples_dir), held_out) if args.samples_dir else [],
    }
    pair = f"{args.size}x{args.size} A | {args.size}x{args.size} B"
    layout = "unpaired images (trainA/, trainB/)" if args.unpaired else f"train pairs ({pair})"
    print(f"wrote {len(written['train'])} {layout} from {', '.join(args.photos)} to {args.out}")
    print(f"wrote {len(written['test'])} test pairs from held-out {', '.join(HELD_OUT_PHOTOS)} to {args.out / 'test'}")
    for path in written["samples"]:
        print(f"wrote sample {path} ({path.stat().st_size // 1024} KB)")
    return written


if __name__ == "__main__":
    main()
