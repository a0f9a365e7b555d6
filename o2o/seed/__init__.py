"""Deterministic demo data shaped like the real campaign: stores and QR scans."""

DEFAULT_RANDOM_SEED = 1111
