import gc
import tracemalloc

from benchmarks.bench_sync import ADDON_PROFILES
from benchmarks.bench_sync import CACHE_SIZE
from benchmarks.bench_sync import MEMORY_CACHE_SIZE
from benchmarks.bench_sync import BenchSync
from benchmarks.bench_sync import PeerProcess
from benchmarks.bench_sync import stored_bytes


OUT = open("/tmp/exp/mem.txt", "w")


class MemTmp(BenchSync):
    test_bench_sync = None

    def test_memtmp(self):
        n = self.n
        self.peer = PeerProcess(n, n // 2, 60)
        self.peer.wait_ready()
        self.db.setCacheSize(MEMORY_CACHE_SIZE)
        for site_id, source in (("memfull", "source"), ("memhalf", "sourcehalf")):
            site = self.new_site(site_id, ADDON_PROFILES)
            self.add_remote(site, "mem", source)
            gc.collect()
            stored = stored_bytes(self.db.storage)
            tracemalloc.start(3)
            before = tracemalloc.take_snapshot()
            self.step(site, "mem", "fetch")
            job, _ = self.step(site, "mem", "import")
            cur, peak = tracemalloc.get_traced_memory()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            print(site_id, dict(job.counts), "peak", peak / 2**20, "current", cur / 2**20, file=OUT, flush=True)
            print("    stored MiB", (stored_bytes(self.db.storage) - stored) / 2**20, file=OUT, flush=True)
            for stat in after.compare_to(before, "lineno")[:30]:
                print("   ", stat, file=OUT, flush=True)
            sizes = [(c._cache.cache_non_ghost_count, len(c._cache)) for c in self.db.pool.all]
            print("    caches (non-ghost, all):", sizes, file=OUT, flush=True)
        self.db.setCacheSize(CACHE_SIZE)
