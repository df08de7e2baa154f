"""Contract tests over every registry (a package, so its conftest and test_losses.py do not clash
with tests/conftest.py and tests/losses/test_losses.py under pytest's default import mode)."""
