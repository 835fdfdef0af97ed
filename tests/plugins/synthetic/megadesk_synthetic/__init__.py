"""Synthetic integrations for the benchmark."""
