export { buildServer, listenNode, type BuildServerOptions } from './app.ts';
