"""demo.py: a small program with a few distinct hot spots, for the demo.

parse() does string work, score() arithmetic, and rank() sorts with a
Python key function called back from C.
"""
import sys
import time


def parse(n):
    rows = []
    for i in range(n):
        rows.append(",".join(str(i * k) for k in range(8)).split(","))
    return rows


def score(row):
    total = 0
    for cell in row:
        total += int(cell) % 97
    return total


def rank(rows):
    return sorted(rows, key=score)


def main(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rank(parse(300))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
