"""o2o: an online-to-offline store finder for a national shopping festival."""

__version__ = "0.1.0"
