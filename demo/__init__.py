"""The believable demo shop (make demo): generator in ``generator/``, commands in management/.

Not recommendation code: it writes shop rows and behaviour-log rows as a real shop would.
"""
