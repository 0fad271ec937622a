"""Values and files in: the bottom layer.

Errors, cell states, typed questions, paths, fingerprints, and reading tables (every
format, every encoding, the clipboard, find). It imports no other fastsheet package.
"""
