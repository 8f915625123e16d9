// A progress bar on stderr, so stdout stays clean for the table or --json. Without a terminal
// (CI, the smoke test) it prints a plain line every few seconds instead of redrawing.

const WIDTH = 28;

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastPlain = 0;
  private label = "";
  private drawn = false;

  constructor(private readonly quiet = false) {}

  phase(label: string): void {
    this.finish();
    this.label = label;
    this.lastPlain = 0;
    if (!this.tty) this.write(`${label}\n`);
  }

  /** fraction in [0, 1]; detail is a short status ("48,210 ops/s · lag 3.1 s"). */
  update(fraction: number, detail: string): void {
    const clamped = Math.max(0, Math.min(1, fraction));
    if (this.tty) {
      const filled = Math.round(clamped * WIDTH);
      const bar = `${"█".repeat(filled)}${"░".repeat(WIDTH - filled)}`;
      this.write(
        `\r\x1b[2K${this.label.padEnd(30)} ${bar} ${(clamped * 100).toFixed(0).padStart(3)}%  ${detail}`,
      );
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= 5000) {
      this.lastPlain = now;
      this.write(`  ${(clamped * 100).toFixed(0).padStart(3)}%  ${detail}\n`);
    }
  }

  note(message: string): void {
    this.finish();
    this.write(`${message}\n`);
  }

  finish(): void {
    if (this.drawn) this.write("\n");
    this.drawn = false;
  }

  private write(text: string): void {
    if (!this.quiet) process.stderr.write(text);
  }
}

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}
