"""Plans: a rule turned into exact formulas and short rules (Split into steps).

It reads the sheet's columns and proposes formula columns, fuzzy remainders and the
`and` that joins them. It may import everything below the sheet: `learning`,
`backends`, `kinds`, `formula`, `stats` and `data`.
"""
