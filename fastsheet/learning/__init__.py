"""Learning from labels: teaching examples and thresholds, learned heads, Label next.

It turns a rule's marks and gold column into examples in the prompt, a fitted threshold
or a head over the model's kept states, and picks the next row to ask. It may import
`backends` (framing), `kinds`, `stats` and `data`.
"""
