/**
 * The `signal` of launch and map: one 'abort' listener on an AbortSignal, however many runs it cancels at once.
 *
 * Node warns of a leak (MaxListenersExceededWarning: "11 abort listeners added to [AbortSignal]") once an event target
 * has more than 10 listeners of one event. A server that gives its one shutdown signal to every launch it starts hit
 * that at the 11th launch running at once, with a listener a run: many runs on one signal are no leak. Here the first
 * run on a signal adds the listener, which calls every run's callback, and the last run to end removes it.
 */

/** Each signal that runs listen to, with its listener and the callbacks of the runs under way. */
const listening = new WeakMap<AbortSignal, { listener: () => void; callbacks: Set<() => void> }>();

/**
 * Calls `onAbort` when `signal` aborts, until the function it returns is called: a run calls it as it ends, whether
 * or not the signal aborted. `signal` must not be aborted yet (launch and map check that first).
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let entry = listening.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      listening.delete(signal);
      for (const callback of callbacks) callback();
    };
    entry = { listener, callbacks };
    listening.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { listener, callbacks } = entry;
  const callback = () => onAbort(); // a run's own, even when two pass the same function
  callbacks.add(callback);
  return () => {
    callbacks.delete(callback);
    if (callbacks.size > 0 || listening.get(signal)?.callbacks !== callbacks) return;
    listening.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
