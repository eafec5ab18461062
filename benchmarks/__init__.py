"""Benchmarks: run side by side in one process, print ratios (the machine is shared and noisy)."""
