/** A promise and the function that settles it: a test opens it when the event it stands for has happened. */
export function signal(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
