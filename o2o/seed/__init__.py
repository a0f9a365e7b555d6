"""Deterministic demo data shaped like the real campaign: stores (and, later, QR scans)."""
