"""The formula language: the parser that turns a formula into one polars expression,
and the short-circuit reading of its exact parts (`a and rule` needs `rule` only where
`a` holds). It may import only `fastsheet.data`.
"""
