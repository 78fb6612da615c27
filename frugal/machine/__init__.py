"""The machine: hardware and cloud instances, the grid, and the probes that read memory and energy meters."""
