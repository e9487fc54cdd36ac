import { runCli } from './program.ts';

const code = await runCli(process.argv.slice(2));
// `serve` keeps running; everything else ends here.
if (code !== 0 || !['serve', 'demo', 'federation'].includes(process.argv[2] ?? '')) process.exitCode = code;
