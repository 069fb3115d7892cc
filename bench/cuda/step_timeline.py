#!/usr/bin/env python3
"""Where a decode step's time goes on the GPU, from an Nsight Systems GPU trace.

Usage: step_timeline.py TRACE.csv [--steps N]
TRACE.csv: `nsys stats --report cuda_gpu_trace --format csv` of a `swallow bench latency` or
`bench throughput` run. Steps are cut at each sampling kernel; for the last N steps this prints
the median step time, the time kernels and copies kept the GPU busy, the idle time between the
sampling kernel and the step's first kernel (the host's turn: results, next plan, upload, launch)
and the idle time inside the step, with the kernels that waited longest.
"""
import argparse
import collections
import csv
import statistics


def is_sampling(name):
    return "sample" in name or "sampling::" in name


def is_copy(name):
    return "memcpy" in name.lower() or "memset" in name.lower()


def is_upload(name):
    return "HtoD" in name or "Host-to-Device" in name


def load(path):
    events = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            start = int(row["Start (ns)"])
            events.append((start, start + int(row["Duration (ns)"]), row["Name"]))
    return sorted(events)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    events = load(args.trace)
    cuts = [i for i, e in enumerate(events) if is_sampling(e[2])]
    # One cut per step: the first sampling kernel after a non-sampling one.
    cuts = [c for j, c in enumerate(cuts) if j == 0 or cuts[j - 1] != c - 1]
    cuts = cuts[-(args.steps + 1):]
    walls, busy, turn, inside = [], [], [], []
    waits = collections.Counter()
    for a, b in zip(cuts, cuts[1:]):
        step = events[a:b]
        walls.append(events[b][0] - events[a][0])
        busy.append(sum(e[1] - e[0] for e in step))
        # The host's turn: from the end of this step's sampling and its copy back to the next
        # step's first kernel (the upload of its inputs falls inside).
        k = a
        while k + 1 < b and (is_sampling(events[k + 1][2]) or is_copy(events[k + 1][2])):
            k += 1
        sampled = max(e[1] for e in events[a:k + 1] if not is_upload(e[2]))
        turn.append(max(0, events[k + 1][0] - sampled) if k + 1 < b else 0)
        idle = 0
        for prev, nxt in zip(events[k + 1:b], events[k + 2:b + 1]):
            gap = nxt[0] - prev[1]
            if gap > 0:
                idle += gap
                waits[nxt[2][:90]] += gap
        inside.append(idle)
    n = len(walls)
    if n == 0:
        raise SystemExit("no steps found (no sampling kernels in the trace)")
    med = lambda xs: statistics.median(xs) / 1e3
    print(f"{n} steps: median wall {med(walls):.1f} us, GPU busy {med(busy):.1f} us, "
          f"host turn {med(turn):.1f} us, idle inside the step {med(inside):.1f} us")
    print("idle before (summed over the steps, per step):")
    for name, total in waits.most_common(8):
        print(f"  {total / n / 1e3:8.1f} us  {name}")


if __name__ == "__main__":
    main()
