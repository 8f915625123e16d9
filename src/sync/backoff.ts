// Capped exponential backoff with full jitter: workers that failed together do not retry together.

const BASE_MS = 100;

export function backoffDelay(failures: number, capMs: number): number {
  const ceiling = Math.min(capMs, BASE_MS * 2 ** Math.min(failures, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Resolves after ms, or at once when the signal aborts (shutdown stays prompt). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
