"""Pages for people: the HTML dashboard (``frugal.report``) and a profile's flame graph."""
