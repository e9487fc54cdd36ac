import { runCli } from './program.ts';

// A reader that stops early (`tongban … | head`) is not an error: end quietly, without a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

const code = await runCli(process.argv.slice(2));
// `serve` and `front` keep running; everything else ends here.
if (code !== 0 || !['serve', 'front', 'demo', 'federation'].includes(process.argv[2] ?? '')) process.exitCode = code;
