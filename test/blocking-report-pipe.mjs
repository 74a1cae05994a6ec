// Preloaded into every test process by test/run.mjs. Each test file runs in a
// child process that reports its results to the runner over stdout, a pipe;
// with --test-force-exit a child may exit while the last reports are still
// queued on that pipe, and the runner then counts fewer tests than ran (and
// exits 0): nodejs/node#64833. Writes to a blocking pipe complete before the
// exit, so no verdict is lost.
const handle = process.stdout._handle;
if (handle && typeof handle.setBlocking === 'function') handle.setBlocking(true);
