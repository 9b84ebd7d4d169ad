"""Bytes that last: the storage root, blobs, event logs, manifests, the current pointer, locks, run records.

Everything here is about getting data onto the store and back safely (atomic, no-follow, fsynced);
nothing here knows what a blueprint or a movie's script is.
"""
