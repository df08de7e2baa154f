import re
from pathlib import Path

from setuptools import find_packages, setup


def requirements(name: str):
    lines = Path(__file__).with_name(name).read_text().splitlines()
    return [l.split("#")[0].strip() for l in lines if l.split("#")[0].strip() and not l.startswith("-r")]


VERSION = re.search(r'__version__ = "([^"]+)"', Path(__file__).with_name("translate").joinpath("version.py").read_text()).group(1)

setup(
    name="translate",
    version=VERSION,
    description="Image-to-image translation toolkit: pix2pix, CycleGAN and friends, trained and applied end to end",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["translate", "translate.*"]),
    install_requires=requirements("requirements.txt"),
    extras_require={"test": ["pytest>=7"], "people": requirements("requirements-people.txt"),
                    "serve": requirements("requirements-serve.txt")},
    entry_points={"console_scripts": ["translate=translate.cli:main"]},
)
