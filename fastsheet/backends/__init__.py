"""Models that answer typed questions: the backend protocol and every implementation.

llama.cpp in process (prefix KV, batched rows, answers from logits, kept states), an
OpenAI-compatible server, a System One server; how a question is framed and prompted;
the model catalogue and the GGUFs found on this machine. It may import `kinds`,
`formula`, `stats` and `data`, never the sheet.
"""
