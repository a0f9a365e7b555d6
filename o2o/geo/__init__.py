"""Pure geospatial maths: distances, coordinate systems, the spatial index, clustering.

Nothing in this package touches Flask or a database; it imports on its own.
Coordinates inside the code are ``(lon, lat)`` in degrees (shapely's x, y).
"""
