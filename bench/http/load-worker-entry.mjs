// Worker-thread entry: tsx's loader is registered per thread, and a worker's execArgv cannot carry
// it on Node 20, so the thread registers it itself before loading the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./load-worker.ts");
