// Posts answered 503 that Redis may have applied all the same, and their retraction.
//
// API.md: a 503 means nothing was applied. A write script past its deadline applies nothing
// (clock.ts), but one Redis ran in time can still lose its reply: Redis stopped (SIGSTOP) after the
// script and before writing the reply, a socket that stopped passing replies, a connection broken
// after the command left. The caller was answered 503 at its timeout; the post may be in Redis. For
// each such post the store keeps its attempt (token and deadline) here, and retract_post.lua undoes
// it once Redis answers again and the deadline has passed (no later run of the attempt is possible
// then). A post that never ran, or that a repeat acknowledged since, is left as it is.
//
// Left open: an attempt kept only in this process's memory is not retracted if the process dies
// first, nor if Redis loses the channel (the token is not in PostgreSQL). Both are reported.

/** A post answered 503 whose outcome is unknown. */
export interface PostAttempt {
  channelId: string;
  messageId: string;
  /** The token post.lua keeps with the message it created. */
  attempt: string;
  /** The attempt's deadline, in Redis time (ms): before it, the attempt may still run. */
  deadline: number;
  /** When it was recorded (ms, this host's clock). */
  since: number;
}

export type RetractOutcome = "retracted" | "absent" | "early" | "not_loaded";

/** How often pending attempts are tried while some remain. */
const RETRY_MS = 250;
/** Past this an attempt is given up (Redis did not answer all that time) and reported. */
const GIVE_UP_MS = 10 * 60_000;
/** Attempts kept at most: a long outage under load must not grow memory without bound. */
const MAX_PENDING = 100_000;

export interface RetractionEvents {
  /** A post that Redis had applied was retracted. */
  retracted?(attempt: PostAttempt): void;
  /** A post whose outcome stays unknown (given up, or over the limit). */
  unresolved?(attempt: PostAttempt, why: string): void;
}

export class PostRetractions {
  private pending: PostAttempt[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly retract: (attempt: PostAttempt) => Promise<RetractOutcome>,
    private readonly events: RetractionEvents = {},
  ) {}

  /** Posts still to be resolved. */
  get size(): number {
    return this.pending.length;
  }

  add(attempt: Omit<PostAttempt, "since">): void {
    if (this.pending.length >= MAX_PENDING) {
      this.events.unresolved?.({ ...attempt, since: Date.now() }, `more than ${MAX_PENDING} posts pending`);
      return;
    }
    this.pending.push({ ...attempt, since: Date.now() });
    this.schedule();
  }

  /** Tries every pending attempt once more (on shutdown, and in tests); resolves when done. */
  async settle(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.round();
  }

  /** Stops retrying; whatever is still pending is reported unresolved. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const attempt of this.pending) this.events.unresolved?.(attempt, "the service stopped first");
    this.pending = [];
  }

  private schedule(): void {
    if (this.timer || this.pending.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, RETRY_MS);
    this.timer.unref();
  }

  /** One pass, in order; stops at the first failure (Redis still away): the rest wait with it. */
  private async round(): Promise<void> {
    const still: PostAttempt[] = [];
    const batch = this.pending;
    this.pending = [];
    let reachable = true;
    for (const attempt of batch) {
      let outcome: RetractOutcome | undefined;
      if (reachable) {
        try {
          outcome = await this.retract(attempt);
        } catch {
          reachable = false;
        }
      }
      if (outcome === "retracted") this.events.retracted?.(attempt);
      else if (outcome === "not_loaded") {
        this.events.unresolved?.(attempt, "the channel is no longer in Redis");
      } else if (outcome === "absent") {
        // Never applied, or acknowledged to a repeat since: nothing to undo.
      } else if (Date.now() - attempt.since > GIVE_UP_MS) {
        this.events.unresolved?.(attempt, `Redis did not answer for ${GIVE_UP_MS / 60_000} minutes`);
      } else still.push(attempt);
    }
    this.pending = [...still, ...this.pending];
  }
}
