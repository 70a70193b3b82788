"""Benchmark scripts: speed and memory figures, printed (as ratios where the machine is noisy). Not tests."""
