"""Solve one VRPLIB instance with PyVRP for `daybreak bench routing --peer pyvrp` (benchmarks only).

Usage: solve.py INSTANCE.vrp --time-limit SECONDS [--seed N]

Reads the instance with pyvrp.read (no rounding: the file already holds the integers to use, as
`bench routing` writes them: DIMACS sets scaled by 10 and truncated, ORTEC as given), solves it
single-threaded for the time limit and prints, on stdout:

    Route #1: 5 3 7        (node indices, 0 = depot, as in the file)
    ...
    Cost 12345             (PyVRP's own objective; bench routing recomputes it)
    Feasible yes|no
    Iterations N
    Runtime S
"""
import argparse
import sys

import pyvrp
from pyvrp.stop import MaxRuntime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("instance")
    ap.add_argument("--time-limit", type=float, required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    data = pyvrp.read(a.instance)
    res = pyvrp.solve(data, stop=MaxRuntime(a.time_limit), seed=a.seed, display=False)
    sol = res.best
    for k, route in enumerate(sol.routes(), start=1):
        # Activities name clients by client index; their location is the node index in the file.
        nodes = [data.client(a.idx).location for a in route if a.type == pyvrp.ActivityType.CLIENT]
        print(f"Route #{k}: " + " ".join(str(c) for c in nodes))
    print(f"Cost {res.cost()}")
    print(f"Feasible {'yes' if sol.is_feasible() else 'no'}")
    print(f"Iterations {res.num_iterations}")
    print(f"Runtime {res.runtime:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
