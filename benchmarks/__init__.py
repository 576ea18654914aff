"""Benchmarks of blue_green_ecs: synth time, footprint, test suite time and a deployment time model (`make bench`)."""
