import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web console: built to dist/console/, served by every node at /console/ (src/server/console.ts). */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // The CSP allows scripts from the node's own files only: no inline polyfill.
    modulePreload: { polyfill: false },
    // Ant Design is most of it; one chunk a screen needs anyway.
    chunkSizeWarningLimit: 2500,
    rolldownOptions: {
      // Ant Design's files start with "use client" (for React Server Components): meaningless in a bundle.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
