/**
 * Last-chance cleanup: a test that crashes or is interrupted must not leave
 * node processes or namespaces behind. Each live cluster registers a
 * synchronous teardown; it runs on process exit and on SIGINT / SIGTERM
 * (after which the signal is raised again, so the process still ends the way
 * it would have without us).
 */
type Teardown = () => void;

const teardowns = new Set<Teardown>();
let installed = false;

/** Newest first: a cluster registered after its network stops its processes before the network goes. */
function runAll(): void {
  for (const t of [...teardowns].reverse()) {
    teardowns.delete(t);
    try {
      t();
    } catch {
      // Best effort: the process is going away; one failing teardown must not stop the others.
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAll();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('exit', runAll);
  installed = false;
  // Someone else handles the signal: leave the decision to them; else end as the default action would.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

/** Registers `t` to run once at exit or on SIGINT/SIGTERM; returns the function that unregisters it. */
export function onProcessExit(t: Teardown): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  teardowns.add(t);
  return () => {
    teardowns.delete(t);
  };
}
