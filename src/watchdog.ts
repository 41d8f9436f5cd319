/**
 * launch's deadlock watchdog: it reads, ten times a second, what each rank says it waits for in the control block
 * (control.ts), and tells a deadlock (ranks that nothing will ever set moving) from a slow computation; and the lines
 * that say where each rank is, for a DeadlockError and for a launch's TimeoutError.
 */
import { ANY_PEER, ARENA_OPS, WAIT, type ControlBlock } from './control.js';

/** How often the watchdog looks. */
const WATCH_INTERVAL_MS = 100;
/**
 * The looks in vain (WaitOptions.onStillWaiting, about every 25 ms) a settled rank must have made since the watchdog
 * last saw any rank move. A rank counts a look once it has found nothing, so the first count may be of a look made
 * before that moment; the second look began after the first was counted, and so after it.
 */
const MIN_LOOKS = 2;

/**
 * The deadlock watchdog: every WATCH_INTERVAL_MS it reads what each live rank waits for, how many waits it has
 * finished and how many times it has looked in vain. A rank whose wait has not changed for `graceMs`, and that has
 * looked in vain at least twice (MIN_LOOKS) since the watchdog last saw any rank move, has settled in it; when some
 * settled ranks can be set moving by no one (`stuckRanks`), nothing will ever move them: that is a deadlock. Each rank
 * is timed on its own, so that other ranks busy with messages of their own do not hide a cycle between two.
 *
 * The looks are what tell a stuck rank from one that had no core: a rank woken by the message it waited for, on a
 * machine far oversubscribed, may not run for longer than `graceMs`, and its wait then stays as it was. Whoever sent
 * that message moved after it: it began or ended a wait, and is free at the watchdog's look that sees it (so it
 * releases the ranks that wait on it), or it finished, and no rank is settled at that look. From the next look on,
 * a rank must have looked twice since that move: it found no message sent before it.
 */
export function watchForDeadlock(control: ControlBlock, finished: boolean[], graceMs: number, timers: NodeJS.Timeout[],
  onDeadlock: (cycle: string[]) => void): void {
  // Each rank's wait as last seen, since when, and its looks then, or at the latest look that saw a rank move; and its
  // looks as that wait began.
  const seen = finished.map(() => ({ wait: '', since: 0, looks: 0, began: 0 }));
  let finishedCount = 0;
  const look = () => {
    const now = performance.now();
    const settled = new Map<number, Wait>();
    const waits = new Map<number, Wait>(); // each live rank's wait as this look reads it
    const recent = new Set<number>(); // the ranks in a wait that may be passing: they have not looked in vain twice
    const count = finished.filter((isDone) => isDone).length;
    const someFinished = count !== finishedCount; // no rank is settled at this look, as no look was since
    finishedCount = count;
    let someMoved = someFinished;
    for (let rank = 0; rank < finished.length; rank++) {
      if (finished[rank]) continue;
      const wait = control.waitingOf(rank);
      waits.set(rank, wait);
      const key = `${wait.kind}/${wait.peer}/${wait.progress}`;
      const last = seen[rank]!;
      if (key !== last.wait) { // a move: a rank that moves now is free now, and releases the ranks that wait on it
        seen[rank] = { wait: key, since: now, looks: wait.looks, began: wait.looks };
        someMoved = true;
        if (wait.kind !== WAIT.none) recent.add(rank);
        continue;
      }
      if (wait.kind !== WAIT.none && looksSince(wait.looks, last.began) < MIN_LOOKS) recent.add(rank);
      const lasted = now - last.since >= graceMs && looksSince(wait.looks, last.looks) >= MIN_LOOKS;
      if (wait.kind !== WAIT.none && lasted && !someFinished) settled.set(rank, wait);
    }
    if (someMoved) { // from here on, looks count from this moment
      for (let rank = 0; rank < finished.length; rank++) {
        if (!finished[rank]) seen[rank]!.looks = control.waitingOf(rank).looks;
      }
    }
    const stuck = stuckRanks(settled, finished);
    if (stuck.size > 0) {
      // Described as judged: a rank's wait as this look read it, not as it may be a moment later
      onDeadlock(describeWaits(control, finished, waits, movingRanks(stuck, waits, recent, finished)));
      return;
    }
    watch.refresh(); // the same timer again: nothing piles up over a long run
  };
  const watch = setTimeout(look, WATCH_INTERVAL_MS).unref();
  timers.push(watch);
}

type Wait = ReturnType<ControlBlock['waitingOf']>;

/**
 * The looks a rank has made since its count was `then`. The count is an Int32 that wraps (a rank woken by other ranks'
 * messages counts a look at each wake), and a plain difference across the wrap, about -2^32, would never reach
 * MIN_LOOKS.
 */
function looksSince(looks: number, then: number): number {
  return (looks - then) | 0;
}

/**
 * Of the ranks settled in a wait, those that no rank can set moving again: all of them at first, less each that
 * another rank may yet release, until none is left to drop. A rank that runs, or that waits for something other than
 * shmcomm (a timer, a promise), is free: it may yet send, receive or come to a barrier (only `timeoutMs` bounds it).
 * - Waiting to receive from, or to send to, a named rank: released while that rank is live and free.
 * - Waiting to receive from any rank: released while another live rank is free.
 * - In a barrier (or at one of the shared arena's): released while no rank has finished (a finished one never comes)
 *   and every other live rank is free or in the same barrier.
 */
function stuckRanks(settled: Map<number, Wait>, finished: boolean[]): Set<number> {
  const stuck = new Set(settled.keys());
  const free = (rank: number) => !finished[rank] && !stuck.has(rank);
  for (let dropped = true; dropped; ) {
    dropped = false;
    for (const rank of stuck) {
      if (released(rank, settled, free, finished)) {
        stuck.delete(rank);
        dropped = true;
      }
    }
  }
  return stuck;
}

/** Whether rank `rank`, in its wait in `waits`, may be set moving by the ranks that are `free` (stuckRanks' rules). */
function released(rank: number, waits: Map<number, Wait>, free: (rank: number) => boolean, finished: boolean[]): boolean {
  const { kind, peer } = waits.get(rank)!;
  if (kind === WAIT.recv || kind === WAIT.send) {
    return peer === ANY_PEER ? finished.some((_, other) => other !== rank && free(other)) : free(peer);
  }
  const sameBarrier = (other: number) => waits.get(other)?.kind === kind && waits.get(other)?.peer === peer;
  return !finished.some((isDone) => isDone) &&
    finished.every((_, other) => other === rank || free(other) || sameBarrier(other));
}

/**
 * The ranks outside a deadlock that are on the move: in a wait that began since the last look, or in which they have
 * not yet looked in vain twice (a rank with no core), on a rank that is free (`recent`). Two ranks exchanging messages
 * beside a cycle are caught waiting now and then, each for the other: a DeadlockError says they are running, not what
 * they waited for at that instant. A rank that has looked in vain twice in its wait (two that have just deadlocked with
 * each other, one that waits on a rank that computes), or that has just begun to wait on a stuck rank (or on one that
 * waits on a stuck rank, and so on), is described by its wait.
 */
function movingRanks(stuck: Set<number>, waits: Map<number, Wait>, recent: Set<number>, finished: boolean[]): Set<number> {
  const bound = new Set(stuck);
  const free = (rank: number) => !finished[rank] && !bound.has(rank);
  for (let added = true; added; ) {
    added = false;
    for (const rank of recent) {
      if (!bound.has(rank) && !released(rank, waits, free, finished)) {
        bound.add(rank);
        added = true;
      }
    }
  }
  return new Set([...recent].filter((rank) => !bound.has(rank)));
}

/**
 * One line per live rank: `rank 0 waits to receive from rank 1`, `... from rank 1 with tag 2` (a receive of one tag),
 * `... from rank 0 in bcast`, `... from any rank (not from rank 2, whose message it holds as a view: ...)`, `rank 1
 * waits to send to rank 0 (channel full; rank 0 holds a view of rank 1's message: ...)`, `rank 2 is running`, or
 * `rank 3 is starting` when a short `timeoutMs` ends before its program was called. Each rank's wait is read now, or
 * taken from `waits`; the ranks in `moving` are running, whatever wait they are in.
 */
export function describeWaits(control: ControlBlock, finished: boolean[], waits?: ReadonlyMap<number, Wait>,
  moving: ReadonlySet<number> = new Set()): string[] {
  const lines: string[] = [];
  const gone = finished.flatMap((isDone, other) => (isDone ? [other] : []));
  const haveFinished = gone.length === 1 ? `rank ${gone[0]} has finished` : `ranks ${gone.join(', ')} have finished`;
  for (let rank = 0; rank < finished.length; rank++) {
    if (finished[rank]) continue;
    if (moving.has(rank)) {
      lines.push(`rank ${rank} is running`);
      continue;
    }
    const { kind, peer, within, tag, viewFrom } = waits?.get(rank) ?? control.waitingOf(rank);
    // The rank it waits on has finished, or, waiting on any rank, those that have.
    const anyDone = gone.length > 0 ? ` (${haveFinished})` : '';
    const peerDone = peer === ANY_PEER ? anyDone : peer >= 0 && finished[peer] ? ` (rank ${peer} has finished)` : '';
    const inCall = within === undefined ? '' : ` in ${within}`; // the collective that sends or receives
    if (kind === WAIT.recv) {
      const from = peer === ANY_PEER ? 'any rank' : `rank ${peer}`;
      const withTag = tag >= 0 ? ` with tag ${tag}` : ''; // not ANY_TAG, nor a collective's own
      // A receive from any rank passes over the channel whose message a view holds (Comm.refuseHeldSource)
      const held = peer === ANY_PEER && viewFrom >= 0
        ? ` (not from rank ${viewFrom}, whose message it holds as a view: release() it first)`
        : '';
      lines.push(`rank ${rank} waits to receive from ${from}${withTag}${inCall}${held}${peerDone}`);
    } else if (kind === WAIT.send) {
      // The receiver may hold a view of this rank's message, whose room in the ring stays taken until release()
      const receiver = finished[peer] || moving.has(peer) ? undefined : (waits?.get(peer) ?? control.waitingOf(peer));
      const full = receiver !== undefined && receiver.kind !== WAIT.none && receiver.viewFrom === rank
        ? `channel full; rank ${peer} holds a view of rank ${rank}'s message: release() it first` : 'channel full';
      lines.push(`rank ${rank} waits to send to rank ${peer}${inCall} (${full})${peerDone}`);
    } else if (kind === WAIT.barrier || kind === WAIT.arena) {
      const notes = [
        ...(kind === WAIT.arena ? ["at the shared arena's barrier"] : []),
        ...(gone.length === 0 ? [] : [`${haveFinished} without it`]),
      ];
      const where = kind === WAIT.barrier ? 'barrier' : (ARENA_OPS[peer] ?? 'a collective');
      lines.push(`rank ${rank} waits in ${where}${notes.length === 0 ? '' : ` (${notes.join('; ')})`}`);
    } else if (control.startedOf(rank)) {
      lines.push(`rank ${rank} is running`);
    } else {
      lines.push(`rank ${rank} is starting (its worker, or the import of its program)`);
    }
  }
  return lines;
}
