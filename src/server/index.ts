export { buildServer, type BuildServerOptions } from './app.ts';
