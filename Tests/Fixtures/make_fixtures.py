#!/usr/bin/env python3
"""Writes the test fixtures that are derived from the model files into Tests/Fixtures/generated/.

Each fixture module registers itself here; every generator is deterministic and independent
of Raconteur's own code (it uses the `gguf` Python package and numpy).
"""
import os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "generated")

def main():
    os.makedirs(OUT, exist_ok=True)
    sys.path.insert(0, HERE)
    for name in sorted(os.listdir(HERE)):
        if name.startswith("gen_") and name.endswith(".py"):
            mod = __import__(name[:-3])
            mod.generate(OUT)

if __name__ == "__main__":
    main()
