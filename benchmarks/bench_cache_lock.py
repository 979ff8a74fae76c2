"""Two processes build the car's default reference set at once into an empty cache.

    python benchmarks/bench_cache_lock.py

Prints each process's wall time, whether it read the cache and whether it said it waited,
then the wall time of both (``benchmarks/results/perf-end-to-end.md``).
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

CODE = (
    "import time; t=time.perf_counter(); from domains.car import CarDomain; d=CarDomain(); "
    "d.reference_data(); print(f'from_cache={d.reference_from_cache} {time.perf_counter()-t:.1f}s'); "
    "d.close()"
)


def main() -> None:
    cache = tempfile.mkdtemp(prefix="lockbench-")
    try:
        env = {**os.environ, "MBO_SANDBOX_CACHE": cache, "OMP_NUM_THREADS": "1"}
        t = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CODE],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            out, err = p.communicate()
            print(out.strip(), "| said it waited:", "waiting for another process" in err)
        print(f"wall {time.perf_counter() - t:.1f}s")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
