import { describe, expect, it } from 'vitest';
import { type Entry, EntryType } from '../types.ts';
import { bootstrapImage, type DiskImage } from './disk.ts';
import { Invariant } from './invariants.ts';
import { SafetyChecker } from './safety-checker.ts';
import { applyToImage, EMPTY_IMAGE, encodeImage, type StateMachineImage } from './state-machine.ts';

const conf = { voters: [1, 2, 3], learners: [], votersOutgoing: [] };
const ent = (index: number, term: number, text = `v${index}t${term}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(text),
});

/** An image holding exactly these entries (from index 1) and this hard state. */
function image(entries: Entry[], commit = 0, term = 0): DiskImage {
  const img = bootstrapImage(conf, encodeImage(EMPTY_IMAGE));
  img.entries = entries;
  img.hardState = { term, vote: 0, commit };
  return img;
}

function started(...ids: number[]): SafetyChecker {
  const c = new SafetyChecker();
  for (const id of ids) c.observeStart(id, image([]), EMPTY_IMAGE);
  return c;
}

function expectViolation(fn: () => void, invariant: Invariant): void {
  expect(fn).toThrow(expect.objectContaining({ name: 'InvariantViolationError', invariant }));
}

describe('SafetyChecker fires on hand-made violations', () => {
  it('election safety: two leaders in one term (even across a restart)', () => {
    const c = started(1, 2);
    c.observeRole(1, 'leader', 3);
    c.observeRole(1, 'leader', 3); // the same leader again is fine
    c.observeRole(2, 'leader', 4);
    c.observeStart(1, image([]), EMPTY_IMAGE);
    expectViolation(() => c.observeRole(2, 'leader', 3), Invariant.ElectionSafety);
  });

  it('log matching: same index and term with different content', () => {
    const c = started(1, 2);
    const a = [ent(1, 1), ent(2, 2, 'x')];
    const b = [ent(1, 1), ent(2, 2, 'y')];
    c.afterAppend(1, image(a), a);
    expectViolation(() => c.afterAppend(2, image(b), b), Invariant.LogMatching);
  });

  it('log matching: same entry after different prefixes', () => {
    const c = started(1, 2);
    const a = [ent(1, 1), ent(2, 2, 'same')];
    const b = [ent(1, 3), ent(2, 2, 'same')];
    c.afterAppend(1, image(a), a);
    expectViolation(() => c.afterAppend(2, image(b), b), Invariant.LogMatching);
  });

  it('leader completeness: a later leader misses an entry committed in an earlier term', () => {
    const c = started(1, 2);
    const log1 = [ent(1, 1), ent(2, 1), ent(3, 2)];
    c.afterAppend(1, image(log1), log1);
    c.observeCommit(1, 3, 2, image(log1));
    const log2 = [ent(1, 1), ent(2, 1)];
    c.observeLeaderLog(2, 2, image(log2)); // same term: the commit may be newer than this leader
    expectViolation(() => c.observeLeaderLog(2, 3, image(log2)), Invariant.LeaderCompleteness);
    const log3 = [ent(1, 1), ent(2, 1), ent(3, 3, 'other')];
    expectViolation(() => c.observeLeaderLog(2, 4, image(log3)), Invariant.LeaderCompleteness);
  });

  it('committed entries never change: another node commits a different entry at a committed index', () => {
    const c = started(1, 2);
    const log1 = [ent(1, 1), ent(2, 1)];
    c.observeCommit(1, 2, 1, image(log1));
    const log2 = [ent(1, 1), ent(2, 2)];
    expectViolation(() => c.observeCommit(2, 2, 2, image(log2)), Invariant.CommittedStable);
  });

  it('committed entries never change: a node overwrites its own committed entry', () => {
    const c = started(1);
    const log = [ent(1, 1), ent(2, 1)];
    c.observeCommit(1, 2, 1, image(log));
    c.beforeAppend(1, image(log), [ent(3, 2)]); // appending past the commit is fine
    expectViolation(() => c.beforeAppend(1, image(log), [ent(2, 2)]), Invariant.CommittedStable);
  });

  it('committed entries never lost: a restart whose durable log lost a committed entry', () => {
    const c = started(1);
    expectViolation(() => c.observeStart(1, image([ent(1, 1)], 2), EMPTY_IMAGE), Invariant.CommitMonotonic);
  });

  it('state machine safety: gaps, reorders and different entries at one index', () => {
    const c = started(1, 2);
    const log = [ent(1, 1), ent(2, 1), ent(3, 1)];
    const durable = image(log);
    expectViolation(() => c.observeApply(1, log[1]!, durable), Invariant.StateMachineSafety);
    c.observeApply(1, log[0]!, durable);
    c.observeApply(1, log[1]!, durable);
    const other = [ent(1, 1), ent(2, 1, 'different')];
    c.observeApply(2, other[0]!, image(other));
    expectViolation(() => c.observeApply(2, other[1]!, image(other)), Invariant.StateMachineSafety);
  });

  it('state machine safety: a snapshot image that disagrees with what was applied', () => {
    const c = started(1, 2);
    const log = [ent(1, 1), ent(2, 1)];
    c.observeApply(1, log[0]!, image(log));
    c.observeApply(1, log[1]!, image(log));
    let wrong: StateMachineImage = applyToImage(EMPTY_IMAGE, ent(1, 1));
    wrong = applyToImage(wrong, ent(2, 1, 'not what node 1 applied'));
    expectViolation(() => c.observeSnapshotInstall(2, wrong), Invariant.StateMachineSafety);
    const stale = applyToImage(EMPTY_IMAGE, ent(1, 1));
    expectViolation(() => c.observeSnapshotInstall(1, stale), Invariant.StateMachineSafety);
  });

  it('no duplicates: one client value applied at two indexes', () => {
    const c = started(1);
    const log = [ent(1, 1, 'same value'), ent(2, 1, 'same value')];
    c.observeApply(1, log[0]!, image(log));
    expectViolation(() => c.observeApply(1, log[1]!, image(log)), Invariant.NoDuplicateApply);
  });

  it('commit index never goes backwards on a running node', () => {
    const c = started(1);
    const log = [ent(1, 1), ent(2, 1), ent(3, 1)];
    c.observeCommit(1, 3, 1, image(log));
    expectViolation(() => c.observeCommit(1, 2, 1, image(log)), Invariant.CommitMonotonic);
  });

  it('a persisted commit index never runs ahead of the persisted log', () => {
    const c = started(1);
    c.observeHardStateWrite(1, image([ent(1, 1)], 1));
    expectViolation(() => c.observeHardStateWrite(1, image([ent(1, 1)], 2)), Invariant.CommitMonotonic);
  });

  it('entries are applied only once durable', () => {
    const c = started(1);
    const e = ent(1, 1);
    expectViolation(() => c.observeApply(1, e, image([])), Invariant.ApplyDurable);
  });

  it('accepts a consistent history (the checker is not trigger-happy)', () => {
    const c = started(1, 2, 3);
    const log = [ent(1, 1), ent(2, 1), ent(3, 2)];
    for (const id of [1, 2, 3]) c.afterAppend(id, image(log), log);
    c.observeRole(1, 'leader', 2);
    c.observeCommit(1, 3, 2, image(log));
    c.observeCommit(2, 2, 2, image(log));
    c.observeLeaderLog(3, 3, image(log));
    for (const e of log) c.observeApply(2, e, image(log));
    let img = EMPTY_IMAGE;
    for (const e of log) img = applyToImage(img, e);
    c.observeSnapshotInstall(3, img);
    expect(c.committedIndexMax).toBe(3);
    expect(c.appliedIndexMax).toBe(3);
  });
});
