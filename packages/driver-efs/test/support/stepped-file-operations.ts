import { SYSTEM_FILE_OPERATIONS, type FileOperations } from '../../src/index.js';

/** One system call the provider made through its file operations. */
export interface Step {
  readonly op: keyof FileOperations;
  /** Its first path argument. */
  readonly path: string;
}

/** A step that is stopped for ever: `reached` resolves when the provider gets there; `thaw` lets it go on. */
export interface Freeze {
  readonly reached: Promise<Step>;
  thaw(): void;
}

/**
 * The real system calls, with the test's say over each: every call is recorded; a call can be refused with an
 * errno (a file system that refuses it), or stopped before it for ever, which leaves on the file system exactly what
 * a `kill -9` at that point leaves (no later step, no cleanup, no `finally` runs).
 */
export class SteppedFileOperations implements FileOperations {
  readonly steps: Step[] = [];
  private readonly refusals: Array<{ when: (step: Step, args: readonly unknown[]) => boolean; code: string }> = [];
  private freeze:
    { when: (step: Step, index: number) => boolean; reached: (step: Step) => void; thawed: Promise<void> } | undefined;

  /** From now on, calls for which `when` holds fail with `code`, as the system call would. */
  refuse(when: (step: Step, args: readonly unknown[]) => boolean, code: string): void {
    this.refusals.push({ when, code });
  }

  /** Stops the `index`-th call from now (0: the next one) before it runs. */
  freezeBefore(index: number): Freeze {
    const at = this.steps.length + index;
    return this.freezeWhen((_step, i) => i === at);
  }

  /** Stops the first call from now for which `when` holds, before it runs. */
  freezeWhen(when: (step: Step, index: number) => boolean): Freeze {
    let reached!: (step: Step) => void;
    let thaw!: () => void;
    const reachedPromise = new Promise<Step>((resolve) => (reached = resolve));
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    this.freeze = { when, reached, thawed };
    return { reached: reachedPromise, thaw };
  }

  mkdir = (path: string, mode: number) =>
    this.step('mkdir', path, [mode], () => SYSTEM_FILE_OPERATIONS.mkdir(path, mode));
  chown = (path: string, uid: number, gid: number) =>
    this.step('chown', path, [uid, gid], () => SYSTEM_FILE_OPERATIONS.chown(path, uid, gid));
  chmod = (path: string, mode: number) =>
    this.step('chmod', path, [mode], () => SYSTEM_FILE_OPERATIONS.chmod(path, mode));
  rename = (from: string, to: string) => this.step('rename', from, [to], () => SYSTEM_FILE_OPERATIONS.rename(from, to));
  link = (existing: string, to: string) =>
    this.step('link', existing, [to], () => SYSTEM_FILE_OPERATIONS.link(existing, to));
  unlink = (path: string) => this.step('unlink', path, [], () => SYSTEM_FILE_OPERATIONS.unlink(path));
  rmdir = (path: string) => this.step('rmdir', path, [], () => SYSTEM_FILE_OPERATIONS.rmdir(path));
  writeNewFile = (path: string, text: string) =>
    this.step('writeNewFile', path, [text], () => SYSTEM_FILE_OPERATIONS.writeNewFile(path, text));
  removeTree = (path: string) => this.step('removeTree', path, [], () => SYSTEM_FILE_OPERATIONS.removeTree(path));

  private async step(
    op: keyof FileOperations,
    path: string,
    args: readonly unknown[],
    real: () => Promise<void>,
  ): Promise<void> {
    const step = { op, path };
    const index = this.steps.push(step) - 1;
    const freeze = this.freeze;
    if (freeze?.when(step, index)) {
      this.freeze = undefined;
      freeze.reached(step);
      await freeze.thawed;
    }
    const refusal = this.refusals.find((r) => r.when(step, args));
    if (refusal)
      throw Object.assign(new Error(`${refusal.code}: refused by the test, ${op} '${path}'`), { code: refusal.code });
    await real();
  }
}
