"""What a session writes: `.fastsheet` projects and Excel workbooks with a Summary sheet.

It may import the sheet (summaries) and everything below it, never the session.
"""
