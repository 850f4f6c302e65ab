/**
 * What the scheduler expected and what happened, printed as it goes (`ok - ...` / `not ok - ...`), so a person
 * reads the run and a test asserts on it.
 */
export class Checklist {
  private failed = 0;

  constructor(private readonly print: (line: string) => void) {}

  /** Prints a step that has no expectation of its own. */
  step(what: string): void {
    this.print(`- ${what}`);
  }

  /** Prints the expectation with its outcome; returns whether it held. */
  expect(holds: boolean, what: string, detail?: unknown): boolean {
    if (holds) {
      this.print(`ok - ${what}`);
    } else {
      this.failed += 1;
      this.print(`not ok - ${what}${detail === undefined ? '' : ` (got ${JSON.stringify(detail)})`}`);
    }
    return holds;
  }

  get failures(): number {
    return this.failed;
  }
}
