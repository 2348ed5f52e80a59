"""The lab: a real Asterisk, simulated phones and load for trying and testing masking.

The local Asterisk 22 (root filesystem, runner, config templates), SIPp phones and their
scenarios, the demo, the ``asterisk`` / ``demo`` / ``bench`` verbs and the benchmarks.
The product does not depend on the lab; the lab depends on the product.
"""
