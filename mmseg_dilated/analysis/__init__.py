"""Analysis of models: receptive fields, cost (parameters, FLOPs, latency, memory) and estimates.

Each module is imported on its own; this package imports none of them, so that a tool pays only
for what it uses.
"""
