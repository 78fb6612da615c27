"""Energy and carbon from raw measurements: the model and the report of what is in force.

``model`` derives energy (J), operational carbon and embodied carbon (gCO2e) from the raw
columns, with the settings each call was measured under (numpy, when results are read);
``environment`` reports what was detected and which data and model are in force. The facts
they use live below the settings: ``frugal.machine.hardware`` (CPU power, embodied presets),
``frugal.machine.grid`` (grid intensity) and ``frugal.data`` (the tables). Importing this package
imports nothing.
"""
