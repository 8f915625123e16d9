// Waiting in tests for something that happens in the background, with a bound.

/** Resolves once `probe` answers true; throws after `ms`. */
export async function eventually(probe: () => Promise<boolean>, ms = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
