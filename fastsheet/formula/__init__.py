"""The formula language: its words (language.py: types, tokens, errors), its functions
(functions.py), the parser that turns a formula into one polars expression (parser.py),
and the short-circuit reading of its exact parts (shortcircuit.py: `a and rule` needs
`rule` only where `a` holds). It may import only `fastsheet.data`.
"""
