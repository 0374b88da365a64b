import { LocalMembers } from './testing/local-members.ts';

for (let r = 0; r < 3; r++) {
  const c = new LocalMembers({});
  const t0 = Date.now();
  await c.start(1);
  const t1 = Date.now() - t0;
  await Promise.all([2, 3, 4, 5].map((id) => c.start(id)));
  const t2 = Date.now() - t0;
  const seen: string[] = [];
  while (!c.allSeeAlive([1, 2, 3, 4, 5])) {
    await new Promise((res) => setTimeout(res, 10));
  }
  const t3 = Date.now() - t0;
  console.log(
    { firstStarted: t1, allStarted: t2, converged: t3 },
    [...c.members.values()].map((m) => m.members().length),
  );
  await c.close();
}
