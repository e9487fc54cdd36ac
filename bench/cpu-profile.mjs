// Loaded with `node --import` by bench/profile-exchange.ts (Node 20 refuses --cpu-prof in NODE_OPTIONS):
// when TONGBAN_CPU_PROFILE_DIR is set, a server process profiles itself from SIGUSR2 until it exits.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env.TONGBAN_CPU_PROFILE_DIR;
if (dir && process.argv.includes('serve')) {
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 200 });
    session.post('Profiler.start');
  });
  process.on('exit', () => {
    if (!started) return;
    const config = process.argv[process.argv.indexOf('--config') + 1] ?? '';
    const name = config.split('/').at(-2) ?? String(process.pid);
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(`${dir}/${name}-${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
