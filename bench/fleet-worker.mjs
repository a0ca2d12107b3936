/**
 * One worker process of bench/fleet.mjs: a BullMQ `Worker` with a no-op processor (the
 * floor), or a `MacroWorker` running a 10-stage macro of no-op agents. Says `ready` over
 * IPC once connected; closes and exits on `close`. `mark` starts its CPU clock, `cpu` sends
 * the CPU time since, in ms.
 *
 *   node bench/fleet-worker.mjs <floor|macro> <queue> <concurrency> <dist dir> <memory|postgres> [<postgres url> <schema>]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'bullmq';

const [mode, name, concurrencyText, dist, memoryKind, postgresUrl, schema] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: 6379 };
const concurrency = Number(concurrencyText);
const lib = (file) => import(pathToFileURL(join(dist, file)).href);

/** @type {{ close(): Promise<void> }[]} closed in this order */
const closing = [];
if (mode === 'floor') {
  const worker = new Worker(name, async () => null, { connection, concurrency });
  await worker.waitUntilReady();
  closing.push(worker);
} else {
  const { agentStage, defineAgent, defineMacro, MacroOrchestrator } = await lib('index.js');
  const { MacroWorker } = await lib('bullmq.js');
  const noop = defineAgent({ id: 'noop', invoke: (input) => input });
  const tenStages = defineMacro({
    name: 'ten',
    description: '10 no-op stages',
    stages: Array.from({ length: 10 }, (_, i) => agentStage(`s${i}`, 'noop')),
  });
  let memory;
  if (memoryKind === 'postgres') {
    const { PostgresMemory } = await lib('postgres.js');
    memory = new PostgresMemory({ connectionString: postgresUrl, schema });
    await memory.ready();
  }
  const orchestrator = new MacroOrchestrator({
    agents: [noop],
    macros: [tenStages],
    ...(memory === undefined ? {} : { memory }),
  });
  const worker = new MacroWorker({ connection, orchestrator, name, concurrency });
  await worker.worker.waitUntilReady();
  closing.push(worker);
  if (memory !== undefined) closing.push(memory);
}

/** CPU time at the start of the timed window (`mark`); `cpu` answers with the ms since. */
let marked = process.cpuUsage();
process.on('message', async (message) => {
  if (message === 'mark') marked = process.cpuUsage();
  if (message === 'cpu') {
    const { user, system } = process.cpuUsage(marked);
    process.send?.({ cpuMs: (user + system) / 1000 });
  }
  if (message !== 'close') return;
  for (const thing of closing) await thing.close();
  process.exit(0);
});
process.send?.('ready');
