/** A one-line progress bar for a TTY: bytes read of the file, and records seen. Pure rendering. */
export function renderProgress(p: { bytes: number; total: number; records: number; width?: number }): string {
  const width = p.width ?? 24;
  const ratio = p.total > 0 ? Math.min(1, p.bytes / p.total) : 0;
  const filled = Math.round(ratio * width);
  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${mb(p.bytes)}/${mb(p.total)} MB  ${p.records.toLocaleString('en-GB')} records`;
}

export class ProgressLine {
  private bytes = 0;
  private records = 0;
  private last = 0;
  private readonly total: number;
  private readonly stream: NodeJS.WriteStream;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.total = total;
    this.stream = stream;
  }

  addBytes = (n: number) => {
    this.bytes += n;
    this.draw();
  };

  addRecords = (n: number) => {
    this.records += n;
    this.draw();
  };

  /** Sets the totals so far (a bar drawn for a command that runs elsewhere). */
  set(bytes: number, records: number): void {
    this.bytes = bytes;
    this.records = records;
    this.draw();
  }

  private draw(force = false) {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    this.stream.write(`\r${renderProgress({ bytes: this.bytes, total: this.total, records: this.records })}`);
  }

  done(): void {
    this.draw(true);
    this.stream.write('\n');
  }
}
