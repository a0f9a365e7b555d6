"""Use cases as plain functions over a repository and plain values; no Flask here."""
