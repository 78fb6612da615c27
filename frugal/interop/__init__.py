"""Numbers that travel: frugal's measurements written in other tools' formats (CodeCarbon's
``emissions.csv``, an Impact Framework manifest, a BoAmps report) and CodeCarbon's CSV read
back as a frugal frame. ``frugal.interop.export`` is ``frugal.export``; the modules import
pandas, so this face imports none of them.
"""

FORMATS = ("codecarbon", "impact-framework", "boamps")
"""What ``frugal.export(format=...)`` writes (here, in the face: the command line lists them
without importing pandas)."""
