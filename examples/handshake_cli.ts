// Runs the handshake demo as its own process: `node dist/examples/handshake_cli.js [flags]`
// (the `wakeloop handshake` command calls main() the same way).
import { main } from './handshake.js';

process.exitCode = await main(process.argv.slice(2));
