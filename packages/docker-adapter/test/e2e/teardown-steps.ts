/**
 * A teardown as a list of steps that all run, each even after an earlier one failed (a failed test leaves more to
 * clean, not less), with every failure reported together at the end.
 */
export class TeardownSteps {
  private readonly problems: string[] = [];

  /** Runs one step; a failure is recorded under `what` instead of ending the teardown. */
  async run(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.problems.push(`${what}: ${(error as Error).message}`);
    }
  }

  /** Throws one error listing every failed step (`<context>: <step>: <why>; …<suffix>`), if any failed. */
  finish(context: string, suffix = ''): void {
    if (this.problems.length > 0) throw new Error(`${context}: ${this.problems.join('; ')}${suffix}`);
  }
}
